from pathlib import Path

import pytest

from course_lib.course import book, notebooks

CHAPTERS = book.chapters()
READY = [c for c in CHAPTERS if c.ready]


def test_manifest_has_the_thirteen_chapters_in_order():
    b = book.load_book()
    assert b["course"]["title"] and b["course"]["description"]
    assert [c.number for c in CHAPTERS] == list(range(1, 14))
    assert len({c.slug for c in CHAPTERS}) == 13
    for c in CHAPTERS:
        name = Path(c.notebook).name
        assert c.notebook.startswith("notebooks/") and name.endswith(".ipynb")
        assert name.startswith(f"{c.id}_"), f"{name} must start with its number {c.id}_"
        assert c.sources and c.title and c.summary
        assert set(c.budget_s) == {"smoke", "small", "full"}
        assert c.budget_s["smoke"] <= 60 and c.budget_s["small"] <= 600


def test_ready_chapters_have_notebooks_and_no_notebook_is_orphaned():
    for c in READY:
        assert c.notebook_path.exists(), f"chapter {c.id} is ready but {c.notebook} is missing"
    listed = {c.notebook_path.resolve() for c in CHAPTERS}
    for nb in (book.REPO_ROOT / "notebooks").glob("*.ipynb"):
        assert nb.resolve() in listed, f"{nb.name} is not listed in book.toml"


def test_chapter_lookup():
    assert book.chapter("01").slug == "gan-fundamentals"
    assert book.chapter(1).number == 1
    assert book.chapter("gan-fundamentals").id == "01"
    with pytest.raises(KeyError, match="01 \\(gan-fundamentals\\)"):
        book.chapter("99")


@pytest.mark.parametrize("c", [c for c in CHAPTERS if c.notebook_path.exists()], ids=lambda c: c.id)
def test_notebook_pair_in_sync(c):
    assert c.script_path.exists(), f"{c.notebook} has no jupytext twin {c.script_path.name}"
    diff = notebooks.differences(c.script_path, c.notebook_path)
    assert not diff, f"{c.notebook} is out of sync with its .py (run `course notebook sync {c.id}`): {diff[:3]}"


@pytest.mark.parametrize("c", [c for c in CHAPTERS if c.notebook_path.exists()], ids=lambda c: c.id)
def test_committed_notebooks_carry_only_checked_outputs(c):
    import nbformat

    nb = nbformat.read(c.notebook_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and notebooks.CHECK_MARK not in cell.source:
            assert not cell.outputs, f"{c.notebook}: outputs committed in a cell nbval does not check"
