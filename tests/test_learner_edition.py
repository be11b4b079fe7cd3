"""The learner's edition, exercise by exercise: its check fails on the stub the learner starts from and passes
once the solution is put back.

Each exercise is run the way a learner meets it: the imports of the cells above it, the exercises above it (solved,
since some exercises build on earlier ones), then the exercise cell from the written edition and its check cell.
The edition is nbgrader's release of the chapters (course_lib.course.grading), written once for this module.
"""

from __future__ import annotations

import ast

import nbformat
import pytest

from course_lib.course import book, exercises, grading

pytest.importorskip("nbgrader", reason="the editions are made by nbgrader (pip install -e '.[instructor]')")


def _imports(src: str) -> str:
    """The import statements of a cell (top level), so an exercise sees the names the notebook gave it."""
    try:
        tree = ast.parse(src)
    except SyntaxError:  # a cell with IPython magics
        return ""
    return "\n".join(ast.get_source_segment(src, n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom)))


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _full(ch):
    nb = nbformat.read(ch.notebook_path, as_version=4)
    grading.add_nbgrader_metadata(nb, ch.id)
    return nb


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
    full = [c for c in _full(ch).cells if c.cell_type == "code"]
    learner = {_gid(c): c for c in edition[ch.notebook_path.name].cells if c.cell_type == "code"}[_gid(full[i])]
    check = full[i + 1]
    assert "check" in check.metadata.get("tags", []), f"chapter {ch.id}: the cell after exercise {i} is not a check"
    assert exercises.STUB in learner.source and not exercises.has_solution(learner.source)

    def run(exercise_source: str) -> None:
        ns: dict = {}
        for before in full[:i]:
            exec(_imports(before.source), ns)
            if "exercise" in before.metadata.get("tags", []):
                exec(before.source, ns)
        exec(exercise_source, ns)
        exec(check.source, ns)

    with pytest.raises(exercises.ExerciseNotDone):
        run(learner.source)
    run(full[i].source)  # the solution put back: the check passes


def test_learner_edition_removes_solutions_keeps_checks_and_locks_nothing(edition):
    ready = [c for c in book.chapters() if c.ready]
    assert sorted(edition) == sorted(c.notebook_path.name for c in ready)
    for ch in ready:
        full, nb = _full(ch), edition[ch.notebook_path.name]
        nbformat.validate(nb)
        ex = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
        checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
        assert ex and len(checks) >= len(ex)
        assert all(exercises.STUB in c.source and not exercises.has_solution(c.source) for c in ex)
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs are cleared"
        assert not any("editable" in c.metadata or "deletable" in c.metadata for c in nb.cells), \
            "the self-study edition locks no cell (only the nbgrader release does)"
        # every cell of the chapter is there, in order, unchanged but for the exercises; the only cells added are
        # the read-only ones after each check that carry on with the course's solution
        kept = [c for c in nb.cells if not (_gid(c) or "").startswith("continue_")]
        assert len(kept) == len(full.cells) and len(nb.cells) == len(full.cells) + len(checks)
        assert all(a.source == b.source for a, b in zip(kept, full.cells)
                   if "exercise" not in b.metadata.get("tags", []))
