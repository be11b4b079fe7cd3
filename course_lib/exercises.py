"""Exercises: automatic checks, and the learner's edition.

In a notebook, an exercise is a code cell tagged `exercise`. The solution sits between two marker lines,
as in nbgrader:

    def optimal_discriminator(p_data, p_g):
        ### BEGIN SOLUTION
        return p_data / (p_data + p_g)
        ### END SOLUTION

The next cell, tagged `check`, calls the chapter's check, e.g. `check.optimal_discriminator(optimal_discriminator)`
with `from course_lib.checks import ch01 as check`. Checks live in `course_lib/checks/chNN.py`, one module a
chapter, and use `ok` / `call` from here. A check
tests the learner's function by its *behaviour* (values on inputs it chose, edge cases) and fails with a hint,
never by comparing source text. The repository keeps solutions in place so CI runs them; `course edition learner`
writes the notebooks with every solution replaced by a stub, checks kept.
"""

from __future__ import annotations

import re
from pathlib import Path


BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution")'
_BLOCK = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)", re.S | re.M)


class ExerciseNotDone(AssertionError):
    pass


def ok(msg: str) -> None:
    print(f"\u2713 {msg}")


def call(fn, *args):
    try:
        return fn(*args)
    except NotImplementedError as e:
        raise ExerciseNotDone(f"not attempted yet: {fn.__name__} still raises NotImplementedError") from e


# ----------------------------------------------------------------------------------------------------------
# The learner's edition
# ----------------------------------------------------------------------------------------------------------

def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block by a stub at the block's indentation."""
    return _BLOCK.sub(lambda m: f"{m.group(1)}{STUB}{m.group(2)}", source)


def has_solution(source: str) -> bool:
    return BEGIN in source


def learner_notebook(nb):
    """A copy of an nbformat notebook with solutions stripped from `exercise` cells and all outputs cleared."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "exercise" in cell.get("metadata", {}).get("tags", []):
            cell.source = strip_solutions(cell.source)
        cell.outputs, cell.execution_count = [], None
    return nb


def write_learner_edition(out_dir: Path | str) -> list[Path]:
    """Write the learner's edition of every ready chapter into out_dir; return the notebooks written."""
    import nbformat

    from .book import chapters

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for ch in chapters():
        if not ch.ready:
            continue
        nb = learner_notebook(nbformat.read(ch.notebook_path, as_version=4))
        nbformat.validate(nb)
        path = out_dir / ch.notebook_path.name
        nbformat.write(nb, path)
        written.append(path)
    return written
