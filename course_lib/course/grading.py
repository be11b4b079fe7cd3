"""Coursework with nbgrader: the chapters' exercises as nbgrader assignments, graded automatically.

The notebooks already use nbgrader's conventions: a solution between `### BEGIN SOLUTION` / `### END SOLUTION`
in a cell tagged `exercise`, and a cell tagged `check` right after it that raises on a wrong answer, which is how
nbgrader grades a test cell. `course notebook sync` writes nbgrader's cell metadata from those tags
(`add_nbgrader_metadata`):

    exercise cell          solution cell, grade_id = the name it defines (`optimal_discriminator`)
    check cell             autograded test cell, grade_id `check_<name>`, points from book.toml [grading.points]
    markdown `discussion`  manually graded answer cell, grade_id `discussion_<k>` (the k-th of the chapter)
    every other code cell  read-only (the set-up, the experiments): nbgrader restores it before grading

Ids come from names, not positions, so they stay put when cells are added elsewhere. Points are set in one place,
book.toml's `[grading.points]` table (1 per check where it says nothing).

An edition (`write_course`) adds, after each check cell, one read-only cell that hands the rest of the notebook
the course's solution when that check did not pass (`exercises.continue_after_check`): a wrong answer then costs
only its own exercise's points and does not break later cells. nbgrader's `generate_assignment` makes both
editions from that source folder, with the course's stub: the release locks cells (`course edition nbgrader`),
the self-study edition is the same run with nbgrader's LockCells switched off (`course edition learner`).

Nothing here imports nbgrader except through its command line (`nbgrader`, from the `instructor` extra).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import MissingToolError
from . import book

SCHEMA_VERSION = 3
COURSE_ID = "gans-autoencoders-maes"
DEFAULT_CELL_TIMEOUT_S = 300


def settings() -> dict:
    """book.toml's [grading] table: cell_timeout_s, default_points, points = {"NN": {name: points}}."""
    return book.load_book().get("grading", {})


def points_for(chapter_id: str, name: str) -> float:
    g = settings()
    return g.get("points", {}).get(chapter_id, {}).get(name, g.get("default_points", 1))


def defined_name(source: str) -> str | None:
    """The first name a cell defines at top level (a def, a class, or an assignment's target)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name):
                return target.id
    return None


def check_name(source: str) -> str | None:
    """The check a check cell calls: `check.NAME(...)`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "check"):
            return node.func.attr
    return None


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _meta(grade_id: str, *, solution=False, grade=False, locked=False, points=None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
         "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return m


def add_nbgrader_metadata(nb, chapter_id: str) -> None:
    """Write nbgrader's metadata into the cells of a chapter's notebook (in place); see the module docstring."""
    seen: set[str] = set()

    def unique(name: str) -> str:
        out, k = name, 2
        while out in seen:
            out, k = f"{name}_{k}", k + 1
        seen.add(out)
        return out

    last, n_after, n_disc, exercise_cell = "start", 0, 0, None
    for i, cell in enumerate(nb.cells):
        tags = _tags(cell)
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "markdown":
            if "discussion" in tags:
                n_disc += 1
                gid = unique(f"discussion_{n_disc}")
                cell.metadata["nbgrader"] = _meta(gid, solution=True, grade=True,
                                                  points=points_for(chapter_id, gid))
            continue
        if cell.cell_type != "code":
            continue
        if "exercise" in tags:
            name = defined_name(cell.source) or f"exercise_{i}"
            exercise_cell = cell
            last, n_after = unique(name), 0
            cell.metadata["nbgrader"] = _meta(last, solution=True)
        elif "check" in tags:
            if exercise_cell is None:
                raise ValueError(f"chapter {chapter_id}: check cell {i} has no exercise above it")
            ex = exercise_cell.metadata["nbgrader"]["grade_id"]
            cell.metadata["nbgrader"] = _meta(unique(f"check_{ex}"), grade=True, locked=True,
                                              points=points_for(chapter_id, ex))
            exercise_cell = None
        else:
            n_after += 1
            cell.metadata["nbgrader"] = _meta(unique(f"code_{last}_{n_after}"), locked=True)


def total_points(nb) -> float:
    return sum(c.metadata.get("nbgrader", {}).get("points", 0) for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("grade"))


# ----------------------------------------------------------------------------------------------------------
# The assignment's source: the chapter notebook and, after each check, the cell that carries on
# ----------------------------------------------------------------------------------------------------------

CONTINUE = """\
# Graded by the check above. If it did not pass, the cells below use the course's solution of this exercise, so
# that one wrong answer costs only its own points and later cells still run. (Grading here is formative: every
# solution ships with the course's package.)
from course_lib.course.exercises import continue_after_check
continue_after_check({chapter!r}, {exercise!r}, globals(), check={check!r})"""


def assignment_notebook(ch: book.Chapter):
    """The chapter's notebook as an nbgrader source: nbgrader metadata, and a read-only `continue` cell after
    every check cell."""
    import nbformat

    nb = nbformat.read(ch.notebook_path, as_version=4)
    add_nbgrader_metadata(nb, ch.id)  # as `course notebook sync` writes it; again here, in case it is not synced
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            exercise = meta["grade_id"].removeprefix("check_")
            src = CONTINUE.format(chapter=ch.id, exercise=exercise, check=check_name(cell.source) or exercise)
            extra = nbformat.v4.new_code_cell(src)
            extra.metadata["nbgrader"] = _meta(f"continue_{exercise}", locked=True)
            cells.append(extra)
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def assignment_name(ch: book.Chapter) -> str:
    return f"ch{ch.id}"


def nbgrader_config(scale: str, cell_timeout_s: int) -> str:
    from .exercises import STUB

    data_root = os.environ.get("COURSE_DATA_ROOT")
    data_line = (f"os.environ.setdefault('COURSE_DATA_ROOT', {data_root!r})" if data_root
                 else "# os.environ.setdefault('COURSE_DATA_ROOT', '/path/to/data')")
    return f'''\
# nbgrader's configuration for this course, written by `course edition nbgrader` when the folder was made (it
# leaves an existing one alone: edit as you like).
import os

# Grading runs every notebook top to bottom: at `{scale}` scale, with the data the course was set up with.
os.environ["COURSE_SCALE"] = {scale!r}
{data_line}
# figures go into the graded notebook and its feedback page, whatever backend the calling shell chose
os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.course_id = {COURSE_ID!r}
# nbgrader's default stops a cell after 30 s; the course's training cells may take longer.
c.Execute.timeout = {cell_timeout_s}
# the stub the course's checks recognise ("not attempted yet"), the same in both editions
c.ClearSolutions.code_stub = {{"python": {STUB!r}}}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
'''


def write_course(out: Path | str, chapter_keys=None, *, scale: str = "smoke",
                 cell_timeout_s: int | None = None) -> list[Path]:
    """An nbgrader course folder: nbgrader_config.py (unless there is one: it may have been edited) and
    source/chNN/<notebook>.ipynb for each chapter chosen (default: every ready one). Returns the notebooks written."""
    import nbformat

    out = Path(out)
    chs = [book.chapter(k) for k in chapter_keys] if chapter_keys else [c for c in book.chapters() if c.ready]
    timeout = cell_timeout_s or settings().get("cell_timeout_s", DEFAULT_CELL_TIMEOUT_S)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "nbgrader_config.py").exists():
        (out / "nbgrader_config.py").write_text(nbgrader_config(scale, timeout), encoding="utf-8")
    written = []
    for ch in chs:
        folder = out / "source" / assignment_name(ch)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / ch.notebook_path.name
        nbformat.write(assignment_notebook(ch), path)
        written.append(path)
    return written


def nbgrader(course_dir: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in the course folder (with this interpreter's nbgrader)."""
    if sys.version_info < (3, 11):
        raise MissingToolError("nbgrader 0.9.6 needs Python >= 3.11 (the instructor extra is empty on 3.10)")
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        raise MissingToolError('nbgrader is not installed: pip install -e ".[instructor]"') from None
    env = dict(os.environ)  # nbgrader runs `alembic` from PATH: this interpreter's scripts first
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, capture_output=True, text=True,
                          env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def release(course_dir: Path | str, chapter_keys=None, *, lock: bool = True) -> list[Path]:
    """`nbgrader generate_assignment` of the chapters chosen (default: every assignment in the course folder), in
    one nbgrader run; returns the notebooks released. `lock=False` switches nbgrader's LockCells off (the
    self-study edition)."""
    course_dir = Path(course_dir)
    names = ([assignment_name(book.chapter(k)) for k in chapter_keys] if chapter_keys
             else sorted(p.name for p in (course_dir / "source").iterdir() if p.is_dir()))
    extra = [] if lock else ["--LockCells.enabled=False"]
    every = sorted(p.name for p in (course_dir / "source").iterdir() if p.is_dir())
    for pattern in (["*"] if names == every else names):  # nbgrader globs the assignment id: one run for all
        nbgrader(course_dir, "generate_assignment", pattern, "--force", *extra)
    return [p for name in names for p in sorted((course_dir / "release" / name).glob("*.ipynb"))]


def write_learner_edition(out_dir: Path | str, chapter_keys=None) -> list[Path]:
    """The self-study edition: nbgrader's release of every ready chapter (solutions replaced by the course's stub,
    outputs cleared), without locked cells. Returns the notebooks written into out_dir."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        write_course(tmp, chapter_keys)
        written = []
        for p in release(tmp, chapter_keys, lock=False):
            shutil.copy(p, out_dir / p.name)
            written.append(out_dir / p.name)
    return written
