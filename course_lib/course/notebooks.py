"""Notebook pairs: the jupytext percent-format `.py` is the source reviewers read; the `.ipynb` is built from it.

Committed `.ipynb` files carry no outputs, except the text outputs of cells marked `# NBVAL_CHECK_OUTPUT`
(deterministic cells whose printed values nbval compares). That keeps the repository small and diffs readable;
`course run NN` produces a fully executed copy (and HTML) under outputs/ (`execute_notebook`).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

CHECK_MARK = "NBVAL_CHECK_OUTPUT"


def _chapter_id(py: Path) -> str:
    return Path(py).name[:2]


def fill_citations(nb, chapter_id: str) -> None:
    """Fill the `{rec:NAME}` citations of the markdown cells from the chapter's verified record (in place)."""
    from ..claims import citations, fill

    cited = [c for c in nb.cells if c.cell_type == "markdown" and citations(c.source)]
    if not cited:
        return
    from .record import entries

    found = entries(chapter_id)
    for c in cited:
        c.source = fill(c.source, found, where=f"chapter {chapter_id}")


def read_source(py: Path):
    """The notebook a `.py` source builds: jupytext's reading, with the record's numbers filled in."""
    import jupytext

    nb = jupytext.read(py)
    fill_citations(nb, _chapter_id(py))
    return nb


def _cells(nb) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(c.cell_type, c.source.strip(), tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def read_pair(py: Path, ipynb: Path):
    import nbformat

    return read_source(py), nbformat.read(ipynb, as_version=4)


def differences(py: Path, ipynb: Path) -> list[str]:
    """Where the .ipynb differs from the .py (cell types, sources, tags); empty when in sync."""
    a, b = read_pair(py, ipynb)
    ca, cb = _cells(a), _cells(b)
    out = []
    if len(ca) != len(cb):
        out.append(f"{py.name} has {len(ca)} cells, {ipynb.name} has {len(cb)}")
    for i, (x, y) in enumerate(zip(ca, cb)):
        if x != y:
            out.append(f"cell {i}: {x[1][:60]!r} != {y[1][:60]!r}")
    return out


def sync_notebook(py: Path, ipynb: Path, scale: str = "smoke") -> None:
    """Write `ipynb` from `py`. Cells marked NBVAL_CHECK_OUTPUT get the outputs of a run at `scale`."""
    import nbformat

    nb = read_source(py)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    checked = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK_MARK in c.source]
    if checked:
        from nbclient import NotebookClient

        os.environ["COURSE_SCALE"] = scale
        run = nbformat.from_dict(nb)
        NotebookClient(run, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(py.parent)}}).execute()
        for i in checked:
            nb.cells[i].outputs = [o for o in run.cells[i].outputs if o.output_type == "stream"]
    for i, c in enumerate(nb.cells):
        # a cell's id from its place, not a random one: rebuilding an unchanged source changes nothing
        c.id = hashlib.sha1(f"{py.name}:{i}".encode()).hexdigest()[:8]
        if c.cell_type == "code":
            c.execution_count = None
            c.metadata.pop("execution", None)
            if i not in checked:
                c.outputs = []
    add_grading_metadata(nb, py)
    nbformat.validate(nb)
    nbformat.write(nb, ipynb)


def add_grading_metadata(nb, py: Path) -> None:
    """nbgrader's cell metadata from the cells' tags: exercises as solution cells, checks as graded test cells with
    their points from book.toml, the rest read-only (course_lib.course.grading)."""
    from .grading import add_nbgrader_metadata

    add_nbgrader_metadata(nb, Path(py).name[:2])


def execute_notebook(path: Path, out: Path, scale: str, timeout: int = 3600, nb=None) -> float:
    """Run a notebook (`nb`, else the one at `path`) top to bottom in a fresh kernel at `scale`; write
    <out>/<name>.ipynb and .html."""
    import nbformat
    from nbclient import NotebookClient
    from tqdm.auto import tqdm

    from .site import notebook_html

    nb = nbformat.read(path, as_version=4) if nb is None else nb
    os.environ["COURSE_SCALE"] = scale  # the kernel inherits this process's environment
    # figures go into the notebook whatever backend the calling shell chose (tests set Agg, which shows nothing)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    with client.setup_kernel():
        for i in tqdm(code, desc=f"{path.name} [{scale}]", unit="cell"):
            client.execute_cell(nb.cells[i], i)
    seconds = time.perf_counter() - start
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / path.name)
    (out / path.with_suffix(".html").name).write_text(notebook_html(nb), encoding="utf-8")
    return seconds
