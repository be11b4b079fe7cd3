"""Exercise checks, one module per chapter (`from course_lib.checks import ch01 as check`)."""
