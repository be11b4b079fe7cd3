"""The course's own errors: what a user can fix (missing data, a bad scale, a bad checkpoint, a wrong image size).

Each says in one line what went wrong and how to fix it. The command line prints that line, without a traceback,
and exits with status 2; any other exception is a bug and keeps its traceback.
"""


class CourseError(Exception):
    """Base of the errors whose message is the whole story for the user."""


class ImageSizeError(CourseError, ValueError):
    """An image of a size the model was not built for."""


class UsageError(CourseError):
    """A chapter, recipe or command the course does not know, or one not ready to run."""


class MissingToolError(CourseError):
    """An optional tool a command needs (nbgrader, Chromium) is not installed."""
