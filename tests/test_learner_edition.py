"""The learner's edition, exercise by exercise: its check fails on the stub the learner starts from and passes
once the solution is put back.

Each exercise is run the way a learner meets it: the imports of the cells above it, the exercises above it (solved,
since some exercises build on earlier ones), then the exercise cell from the written edition and its check cell.
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from course_lib import book, exercises


def _imports(src: str) -> str:
    """The import statements of a cell (top level), so an exercise sees the names the notebook gave it."""
    try:
        tree = ast.parse(src)
    except SyntaxError:  # a cell with IPython magics
        return ""
    return "\n".join(ast.get_source_segment(src, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("learner")
    return {p.name: nbformat.read(p, as_version=4) for p in exercises.write_learner_edition(out)}


def _cases():
    for ch in book.chapters():
        if ch.ready:
            nb = nbformat.read(ch.notebook_path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            for i, c in enumerate(code):
                if "exercise" in c.metadata.get("tags", []):
                    yield pytest.param(ch, i, id=f"{ch.id}-cell{i}")


@pytest.mark.parametrize("ch,i", list(_cases()))
def test_check_fails_on_the_stub_and_passes_on_the_solution(edition, ch, i, monkeypatch):
    monkeypatch.setenv("COURSE_SCALE", "smoke")
    full = [c for c in nbformat.read(ch.notebook_path, as_version=4).cells if c.cell_type == "code"]
    learner = [c for c in edition[ch.notebook_path.name].cells if c.cell_type == "code"]
    check = full[i + 1]
    assert "check" in check.metadata.get("tags", []), f"chapter {ch.id}: the cell after exercise {i} is not a check"
    assert exercises.STUB in learner[i].source and not exercises.has_solution(learner[i].source)

    def run(exercise_source: str) -> None:
        ns: dict = {}
        for before in full[:i]:
            exec(_imports(before.source), ns)
            if "exercise" in before.metadata.get("tags", []):
                exec(before.source, ns)
        exec(exercise_source, ns)
        exec(check.source, ns)

    with pytest.raises(exercises.ExerciseNotDone):
        run(learner[i].source)
    run(full[i].source)  # the solution put back: the check passes
