"""Exercises: automatic checks, and the learner's edition.

In a notebook, an exercise is a code cell tagged `exercise`. The solution sits between two marker lines,
as in nbgrader:

    def optimal_discriminator(p_data, p_g):
        ### BEGIN SOLUTION
        return p_data / (p_data + p_g)
        ### END SOLUTION

The next cell, tagged `check`, calls the chapter's check, e.g. `check.optimal_discriminator(optimal_discriminator)`
with `from course_lib.checks import ch01 as check`. Checks live in `course_lib/checks/chNN.py`, one module a
chapter, and use `ok` / `call` from here. A check tests the learner's function by its *behaviour* (values on
inputs it chose, edge cases) and fails with a hint, never by comparing source text. In a notebook, a failed check
shows that hint in one line (`✗ check NAME failed: ...`) instead of a traceback through the course's code; an error
raised inside the learner's own function keeps its traceback.

The repository keeps solutions in place so CI runs them. The editions replace every solution by `STUB`, through
nbgrader (`course_lib.course.grading`): `course edition learner` for self-study, `course edition nbgrader` for
coursework.
After each check an edition has a cell calling `continue_after_check`: if the check did not pass, the course's
solution (`solution_source`) is defined in its place, so later cells and exercises still run.
"""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution")'
_CHECKS = "course_lib.checks."
_PASSED: set[tuple[str, str]] = set()  # (check module, check function) whose last run passed


class ExerciseNotDone(AssertionError):
    pass


def _check_frame():
    """The frame of the check function running now: the outermost frame in a course_lib.checks module."""
    found, f = None, sys._getframe(1)
    while f is not None:
        if f.f_globals.get("__name__", "").startswith(_CHECKS):
            found = f
        f = f.f_back
    return found


def _key(frame) -> tuple[str, str] | None:
    return None if frame is None else (frame.f_globals["__name__"], frame.f_code.co_name)


def ok(msg: str) -> None:
    _PASSED.add(_key(_check_frame()))
    print(f"\u2713 {msg}")


def call(fn, *args):
    _PASSED.discard(_key(_check_frame()))  # a check that is running has not passed (yet)
    try:
        return fn(*args)
    except NotImplementedError as e:
        raise ExerciseNotDone(f"not attempted yet: {fn.__name__} still raises NotImplementedError") from e


def passed(chapter_id: str, check: str) -> bool:
    """Whether the last run of chapter `chapter_id`'s check `check` (in this process) passed."""
    return (f"{_CHECKS}ch{chapter_id}", check) in _PASSED


def has_solution(source: str) -> bool:
    return BEGIN in source


# ----------------------------------------------------------------------------------------------------------
# The course's solutions, for the cells after a check that did not pass
# ----------------------------------------------------------------------------------------------------------

def solution_source(chapter_id: str, exercise: str) -> str:
    """The course's solution of an exercise: the source of the chapter's exercise cell that defines `exercise`."""
    import nbformat

    from .book import chapter
    from .grading import add_nbgrader_metadata

    nb = nbformat.read(chapter(chapter_id).notebook_path, as_version=4)
    add_nbgrader_metadata(nb, chapter_id)
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") == exercise and c.cell_type == "code":
            return c.source
    raise KeyError(f"chapter {chapter_id} has no exercise {exercise!r}")


def continue_after_check(chapter_id: str, exercise: str, namespace: dict, check: str | None = None) -> None:
    """After an exercise's check: when it did not pass, define the course's solution in `namespace` (the notebook's
    globals), so that later cells and later exercises run on a correct version; a passing answer is kept."""
    if passed(chapter_id, check or exercise):
        return
    exec(compile(solution_source(chapter_id, exercise), f"<course solution: {exercise}>", "exec"), namespace)
    print(f"The check of {exercise} did not pass: the cells below use the course's solution of it.")


# ----------------------------------------------------------------------------------------------------------
# A failed check shows its hint, not a traceback through the course's code
# ----------------------------------------------------------------------------------------------------------

def _is_course_or_library(filename: str) -> bool:
    """Code the learner did not write: the course's package, or an installed library."""
    here = str(Path(__file__).resolve().parent.parent)  # course_lib/, checks included
    return filename.startswith(here) or "site-packages" in filename or filename.startswith(sys.prefix)


def check_failure_message(etype, value, tb) -> list[str] | None:
    """The lines to show for an AssertionError raised by a check (not by the learner's own code), or None."""
    entries = []  # (frame, line) from the outermost call to where it was raised
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    in_check = [i for i, (f, _) in enumerate(entries) if f.f_globals.get("__name__", "").startswith(_CHECKS)]
    if not in_check:
        return None
    if not all(_is_course_or_library(f.f_code.co_filename) for f, _ in entries[in_check[0]:]):
        return None  # raised inside the learner's code, which a check called: the traceback is worth reading
    msg = str(value)
    if not msg:  # a bare assert: show the line of the check that failed
        frame, line = entries[in_check[-1]]
        msg = linecache.getline(frame.f_code.co_filename, line).strip()
    return [f"\u2717 check {entries[in_check[0]][0].f_code.co_name} failed: {msg}"]


def _show_check_failure(shell, etype, value, tb, tb_offset=None):
    """IPython's custom exception handler: it shows the error itself (and the kernel sends it as the cell's error)."""
    lines = check_failure_message(etype, value, tb)
    if lines is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    shell._showtraceback(etype, value, lines)
    return lines


def _install_ipython_hook() -> None:
    """In IPython (a notebook's kernel, nbgrader's autograder), a failed check prints its hint in one line."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "custom_exceptions", ()) == (AssertionError,):
        return
    shell.set_custom_exc((AssertionError,), _show_check_failure)


_install_ipython_hook()


# ----------------------------------------------------------------------------------------------------------
# The learner's edition
# ----------------------------------------------------------------------------------------------------------

def write_learner_edition(out_dir: Path | str, chapter_keys=None) -> list[Path]:
    """Write the self-study edition of every ready chapter into out_dir (nbgrader's release of the chapters, without
    locked cells: `grading.write_learner_edition`); return the notebooks written."""
    from .grading import write_learner_edition as write

    return write(out_dir, chapter_keys)
