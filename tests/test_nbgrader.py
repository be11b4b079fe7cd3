"""Coursework with nbgrader (course_lib.course.grading): the metadata `course notebook sync` writes, the hint a failed check
shows, the course's solution after a failed check, and the real nbgrader on chapter 01 at smoke scale: release,
autograde a submission with the solutions put back (full points) and one with a wrong answer, a correct answer that
builds on it and a stub (exactly the wrong and the stubbed exercises' points lost, their checks' hints in the
feedback), export the grades.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
import torch.nn.functional as F

from course_lib.course import book, exercises, grading
from course_lib.checks import ch01


def _cell(kind, source, *tags):
    c = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if tags:
        c.metadata["tags"] = list(tags)
    return c


def _toy():
    return nbformat.v4.new_notebook(cells=[
        _cell("code", "import torch"),
        _cell("markdown", "**Exercise 1.**"),
        _cell("code", "def optimal_discriminator(p, q):\n    ### BEGIN SOLUTION\n    return p / (p + q)\n"
                      "    ### END SOLUTION", "exercise"),
        _cell("code", "check.optimal_discriminator(optimal_discriminator)", "check"),
        _cell("code", "x = 1"),
        _cell("code", "def value_at_optimum(p, q):\n    ### BEGIN SOLUTION\n    return 0\n    ### END SOLUTION",
              "exercise"),
        _cell("code", "check.value_at_optimum(value_at_optimum)", "check"),
        _cell("markdown", "Why does the saturating loss stall?"),
        _cell("markdown", "### BEGIN SOLUTION\nBecause its gradient is D(G(z)).\n### END SOLUTION", "discussion"),
    ])


def _meta(nb):
    return [c.metadata.get("nbgrader") for c in nb.cells]


def test_sync_metadata_makes_exercises_solution_cells_checks_graded_cells_and_the_rest_read_only():
    nb = _toy()
    grading.add_nbgrader_metadata(nb, "01")
    m = _meta(nb)
    assert m[1] is None  # plain markdown stays plain
    assert m[0]["locked"] and not m[0]["grade"] and not m[0]["solution"]
    assert m[2]["solution"] and not m[2]["grade"] and not m[2]["locked"] and m[2]["grade_id"] == "optimal_discriminator"
    assert m[3]["grade"] and m[3]["locked"] and not m[3]["solution"]
    assert m[3]["grade_id"] == "check_optimal_discriminator"
    # points from book.toml's [grading.points]
    assert m[3]["points"] == grading.points_for("01", "optimal_discriminator")
    assert m[6]["points"] == grading.settings()["points"]["01"]["value_at_optimum"]
    assert m[8]["solution"] and m[8]["grade"] and m[8]["grade_id"] == "discussion_1"  # graded by hand
    assert len({x["grade_id"] for x in m if x}) == sum(x is not None for x in m), "grade ids are unique"
    assert all(x["schema_version"] == 3 for x in m if x)


def test_grade_ids_are_stable_when_cells_are_added_and_when_synced_again():
    nb = _toy()
    grading.add_nbgrader_metadata(nb, "01")
    before = {c.source: c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata}
    nb.cells.insert(1, _cell("code", "print('a new cell above the exercises')"))
    nb.cells.insert(5, _cell("markdown", "a new paragraph"))
    grading.add_nbgrader_metadata(nb, "01")
    grading.add_nbgrader_metadata(nb, "01")  # idempotent
    after = {c.source: c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata}
    named = {src: gid for src, gid in before.items() if not gid.startswith("code_")}
    assert len(named) == 5 and all(after[src] == gid for src, gid in named.items())


def test_points_table_names_exercises_that_exist():
    table = grading.settings().get("points", {})
    assert table, "book.toml has a [grading.points] table"
    for ch in book.chapters():
        if not ch.ready:
            continue
        nb = jupytext.read(ch.script_path)  # the source, whether or not its .ipynb is built yet
        grading.add_nbgrader_metadata(nb, ch.id)
        graded = {c.metadata["nbgrader"]["grade_id"].removeprefix("check_") for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")}
        assert set(table.get(ch.id, {})) <= graded, f"chapter {ch.id}: points for exercises it does not have"
        assert grading.total_points(nb) > 0


@pytest.mark.parametrize("ch", [c for c in book.chapters() if c.ready], ids=lambda c: c.id)
def test_committed_notebook_carries_the_nbgrader_metadata_sync_writes(ch):
    nb = nbformat.read(ch.notebook_path, as_version=4)
    want = nbformat.read(ch.notebook_path, as_version=4)
    grading.add_nbgrader_metadata(want, ch.id)
    assert _meta(nb) == _meta(want), f"run `course notebook sync {ch.id}`"


def _raised(check, fn):
    try:
        check(fn)
    except AssertionError:
        return sys.exc_info()
    raise AssertionError("the check passed")


def test_a_failed_check_shows_its_hint_in_one_line_and_the_learners_own_error_keeps_its_traceback():
    lines = exercises.check_failure_message(*_raised(ch01.optimal_discriminator, lambda p, q: q / (p + q)))
    assert lines == ["\u2717 check optimal_discriminator failed: you returned p_g / (p_data + p_g): "
                     "that is D*'s belief that x is *fake*"]

    def stub(p, q):
        raise NotImplementedError

    (line,) = exercises.check_failure_message(*_raised(ch01.optimal_discriminator, stub))
    assert "not attempted yet" in line

    def own_assert(p, q):
        assert False, "the learner's own assert"

    assert exercises.check_failure_message(*_raised(ch01.optimal_discriminator, own_assert)) is None


def test_after_a_failed_check_the_notebook_continues_with_the_courses_solution(capsys):
    def wrong(p_data, p_g):
        return p_g / (p_data + p_g)

    ns = {"optimal_discriminator": wrong}
    with pytest.raises(AssertionError):
        ch01.optimal_discriminator(ns["optimal_discriminator"])
    exercises.continue_after_check("01", "optimal_discriminator", ns)
    assert ns["optimal_discriminator"] is not wrong and "did not pass" in capsys.readouterr().out
    ch01.optimal_discriminator(ns["optimal_discriminator"])  # the course's solution passes

    def mine(fake_logits):
        return F.softplus(-fake_logits).mean()

    ns = {"nonsaturating_loss": mine}
    ch01.nonsaturating_loss(mine)
    exercises.continue_after_check("01", "nonsaturating_loss", ns)
    assert ns["nonsaturating_loss"] is mine, "a passing answer is kept"


# ----------------------------------------------------------------------------------------------------------
# The real nbgrader, on chapter 01 at smoke
# ----------------------------------------------------------------------------------------------------------

NB = "01_gan_fundamentals.ipynb"
WRONG = "def optimal_discriminator(p_data, p_g):\n    return p_g / (p_data + p_g)  # swapped real and fake\n"


def _submit(course: Path, student: str, answers: dict[str, str]) -> None:
    nb = nbformat.read(course / "release" / "ch01" / NB, as_version=4)
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    folder = course / "submitted" / student / "ch01"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / NB)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    pytest.importorskip("nbgrader", reason="pip install -e '.[instructor]' (Python >= 3.11)")
    course = tmp_path_factory.mktemp("course")
    (path,) = grading.write_course(course, ["01"], scale="smoke")
    # chapter 01 has no discussion exercise yet: add one at the end, as sync would write it
    model = "### BEGIN SOLUTION\nIts gradient vanishes where D rejects the fakes.\n### END SOLUTION"
    nb = nbformat.read(path, as_version=4)
    answer = nbformat.v4.new_notebook(cells=[_cell("markdown", model, "discussion")])
    grading.add_nbgrader_metadata(answer, "01")
    nb.cells += [_cell("markdown", "**Discussion.** Why does the saturating loss stall early in training?"),
                 answer.cells[0]]
    nbformat.write(nb, path)
    released = grading.release(course, ["01"])
    source = nbformat.read(course / "source" / "ch01" / NB, as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    _submit(course, "solved", solutions)
    _submit(course, "mixed", {"optimal_discriminator": WRONG, "value_at_optimum": solutions["value_at_optimum"]})
    grading.nbgrader(course, "autograde", "ch01")
    grading.nbgrader(course, "generate_feedback", "ch01")
    grading.nbgrader(course, "export", "--to", "grades.csv")
    with open(course / "grades.csv") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    return course, released, source, grades


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])  # for alembic
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def test_release_has_stubs_no_solutions_and_locked_checks(graded):
    course, released, source, _ = graded
    assert [p.name for p in released] == [NB]
    nb = nbformat.read(released[0], as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "BEGIN SOLUTION" not in text and "p_data / (p_data + p_g)" not in text
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("solution"):  # the exercises, and the discussion answer: a stub, editable
            assert c.source == "YOUR ANSWER HERE" if c.cell_type == "markdown" else exercises.STUB in c.source
            assert c.metadata.get("editable", True), f"{meta['grade_id']} stays editable"
        elif c.cell_type == "code":
            assert c.metadata.get("editable") is False, f"{meta.get('grade_id')} is locked in the release"
    cont = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("continue_")]
    checks = [c for c in nb.cells if "check" in c.metadata.get("tags", [])]
    assert len(cont) == len(checks) >= 3 and all("continue_after_check" in c.source for c in cont)
    config = (course / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout = " in config and "'smoke'" in config


def test_learner_edition_is_the_release_without_the_locks(graded, tmp_path):
    _, released, _, _ = graded
    (learner,) = exercises.write_learner_edition(tmp_path, ["01"])
    a, b = nbformat.read(learner, as_version=4), nbformat.read(released[0], as_version=4)
    b.cells = b.cells[:-2]  # the discussion the test added to the release
    assert [c.source for c in a.cells] == [c.source for c in b.cells]
    strip = lambda c: {k: v for k, v in c.metadata.items() if k not in ("editable", "deletable")}  # noqa: E731
    assert [strip(c) for c in a.cells] == [strip(c) for c in b.cells]


def test_autograde_gives_full_points_to_the_solutions_and_leaves_the_discussion_to_the_instructor(graded):
    course, _, source, grades = graded
    total, by_hand = grading.total_points(source), grading.points_for("01", "discussion_1")
    assert float(grades["solved"]["max_score"]) == total
    assert float(grades["solved"]["score"]) == total - by_hand  # every check passed; the discussion awaits a grade
    with _gradebook(course) as gb:
        answered = gb.find_grade("discussion_1", NB[:-6], "ch01", "solved")
        blank = gb.find_grade("discussion_1", NB[:-6], "ch01", "mixed")
        assert answered.needs_manual_grade and answered.auto_score is None
        assert blank.score == 0 and not blank.needs_manual_grade  # left as "YOUR ANSWER HERE"


def test_a_wrong_answer_and_a_stub_lose_exactly_their_points_and_nothing_cascades(graded):
    course, _, _, grades = graded
    # optimal_discriminator wrong, value_at_optimum right (it calls optimal_discriminator: after the failed check
    # the course's solution stands in), nonsaturating_loss left as the stub
    assert float(grades["mixed"]["score"]) == grading.points_for("01", "value_at_optimum")
    with _gradebook(course) as gb:
        score = {g: gb.find_grade(f"check_{g}", NB[:-6], "ch01", "mixed").score
                 for g in ("optimal_discriminator", "value_at_optimum", "nonsaturating_loss")}
    assert score == {"optimal_discriminator": 0, "value_at_optimum": grading.points_for("01", "value_at_optimum"),
                     "nonsaturating_loss": 0}


def test_feedback_shows_each_checks_hint_not_a_traceback(graded):
    course = graded[0]
    html = (course / "feedback" / "mixed" / "ch01" / NB.replace(".ipynb", ".html")).read_text()
    assert "check optimal_discriminator failed: you returned p_g / (p_data + p_g)" in html
    assert "check nonsaturating_loss failed: not attempted yet" in html
    assert "Traceback (most recent call last)" not in html
    nb = nbformat.read(course / "autograded" / "mixed" / "ch01" / NB, as_version=4)
    errors = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"}
    checks = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "check" in c.metadata.get("tags", [])}
    assert errors == checks - {"check_value_at_optimum"}, \
        "only the wrong and the stubbed exercises' checks fail; later cells run on the course's solutions"


def test_nbgrader_lab_extension_is_enabled_and_compatible_with_the_installed_jupyterlab():
    pytest.importorskip("nbgrader", reason="pip install -e '.[instructor]' (Python >= 3.11)")
    import subprocess

    import jupyterlab

    assert int(jupyterlab.__version__.split(".")[0]) >= 4, "nbgrader must not pull JupyterLab below 4"
    out = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "labextension", "list"],
                         capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "@jupyter/nbgrader" in line]
    assert lines and "enabled" in lines[0] and "OK" in lines[0], out.stdout + out.stderr


def test_course_edition_nbgrader_writes_the_course_folder(tmp_path, capsys):
    from course_lib import cli

    out = tmp_path / "course"
    assert cli.main(["edition", "nbgrader", "01", "--out", str(out), "--no-release", "--cell-timeout", "120"]) == 0
    nb = nbformat.read(out / "source" / "ch01" / NB, as_version=4)
    assert any("continue_after_check" in c.source for c in nb.cells)
    assert "c.Execute.timeout = 120" in (out / "nbgrader_config.py").read_text()
    assert str(out) in capsys.readouterr().out
