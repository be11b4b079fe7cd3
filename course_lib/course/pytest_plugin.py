"""The course's pytest plugin (enabled in pyproject.toml with `-p course_lib.course.pytest_plugin`).

- Runs the suite at COURSE_SCALE=smoke, writing training runs to a temporary folder, with one intra-op thread
  per process (OMP_NUM_THREADS=1 unless set): the tiny smoke models gain little from a second thread, and two
  busy processes each spinning two threads on two cores run several times slower.
- Points the data root at an offline copy when one is available and COURSE_DATA_ROOT is unset:
  $COURSE_TEST_DATA, else `../shared/data` beside the repository. The copy goes to a temporary folder because
  torchvision unpacks the `.gz` files next to them.
- Collects only the notebooks of chapters that book.toml marks `ready`.
- Enforces each notebook's smoke-scale time budget from book.toml: the last cell of a notebook that ran over
  budget fails, with the measured time.
- Skips the tests marked `slow` (full scale, GPU) unless `--run-slow` is given or `-m` names them.
- Executes each notebook once: nbval's kernels draw figures inline, and a notebook whose every cell passed is
  written, outputs and all, to $COURSE_EXECUTED_DIR/NN-slug/SCALE/ (where `course run` would put it), so the
  site test (tests/test_site.py, collected after the notebooks) builds its pages from these runs instead of
  executing every notebook a second time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from .book import REPO_ROOT, chapters

_times: dict[str, float] = {}
_last_cell: dict[str, str] = {}
_failed: set[str] = set()
INLINE = "module://matplotlib_inline.backend_inline"


def _offline_data() -> Path | None:
    env = os.environ.get("COURSE_TEST_DATA")
    if env:
        return Path(env)
    shared = REPO_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() else None


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (full scale, GPU); `-m slow` runs only those")


def run_slow(config) -> bool:
    """Slow tests run when asked for: --run-slow, or a -m expression that names them."""
    return config.getoption("--run-slow") or "slow" in (config.getoption("-m") or "")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: full-scale or GPU tests, skipped unless asked for (--run-slow, -m slow)")
    os.environ.setdefault("COURSE_SCALE", "smoke")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars as widgets would be empty boxes on the site
    tmp = Path(tempfile.mkdtemp(prefix="course-tests-"))
    os.environ.setdefault("COURSE_RUNS_DIR", str(tmp / "runs"))
    os.environ.setdefault("COURSE_EXECUTED_DIR", str(tmp / "executed"))
    if "COURSE_DATA_ROOT" not in os.environ:
        src = _offline_data()
        if src is not None:
            dst = tmp / "data"
            shutil.copytree(src, dst)
            for p in dst.rglob("*"):
                p.chmod(p.stat().st_mode | 0o200)  # the offline copy may be read-only
            os.environ["COURSE_DATA_ROOT"] = str(dst)
    config._course_tmp = tmp


def pytest_unconfigure(config):
    tmp = getattr(config, "_course_tmp", None)
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


def _chapter_by_notebook() -> dict[Path, object]:
    return {c.notebook_path.resolve(): c for c in chapters()}


def pytest_ignore_collect(collection_path: Path, config):
    if collection_path.suffix == ".ipynb":
        if ".ipynb_checkpoints" in collection_path.parts:
            return True
        ch = _chapter_by_notebook().get(collection_path.resolve())
        return ch is None or not ch.ready
    return None


def pytest_collection_modifyitems(session, config, items):
    skip_slow = None if run_slow(config) else pytest.mark.skip(reason="slow: run with --run-slow (or -m slow)")
    for item in items:
        if skip_slow is not None and "slow" in item.keywords:
            item.add_marker(skip_slow)
        if str(item.path).endswith(".ipynb"):
            _last_cell[str(item.path)] = item.nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """A notebook's kernel starts in its first cell's setup: with inline figures, as `course run` draws them."""
    if not str(item.path).endswith(".ipynb"):
        yield
        return
    before = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = before


def write_executed(ch, nb, seconds: float, root: Path | str, scale: str) -> Path:
    """An executed notebook, with its outputs and time, where the site build looks for executed chapters."""
    import json

    import nbformat

    out = ch.executed_dir(scale, root)
    out.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out / ch.notebook_path.name)
    (out / "seconds.json").write_text(json.dumps({"seconds": seconds}))
    return out / ch.notebook_path.name


def _write_executed(item, seconds: float) -> None:
    """The notebook nbval just ran (its cells carry the outputs nbval saw)."""
    ch = _chapter_by_notebook().get(Path(item.path).resolve())
    nb = getattr(item.parent, "nb", None)
    if ch is not None and nb is not None:
        write_executed(ch, nb, seconds, os.environ["COURSE_EXECUTED_DIR"], os.environ.get("COURSE_SCALE", "smoke"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    path = str(item.path)
    if not path.endswith(".ipynb"):
        return
    _times[path] = _times.get(path, 0.0) + rep.duration
    if rep.failed:
        _failed.add(path)
    if rep.when == "call" and getattr(item, "test_outputs", None) is not None:
        item.cell.outputs = item.test_outputs  # nbval compared them already; the executed copy keeps them
    if rep.when == "call" and _last_cell.get(path) == item.nodeid and rep.passed:
        ch = _chapter_by_notebook().get(Path(path).resolve())
        scale = os.environ.get("COURSE_SCALE", "smoke")
        budget = ch.budget_s.get(scale) if ch is not None else None
        took = _times[path]
        item.config._course_nb_times = getattr(item.config, "_course_nb_times", {}) | {Path(path).name: took}
        if budget is not None and took > budget:
            rep.outcome = "failed"
            rep.longrepr = (f"{Path(path).name} took {took:.1f} s at scale {scale}, over its budget of "
                            f"{budget} s (book.toml)")
        elif path not in _failed:
            _write_executed(item, took)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    times = getattr(config, "_course_nb_times", {})
    if times:
        terminalreporter.section("notebook times")
        for name, t in sorted(times.items()):
            terminalreporter.write_line(f"{name}: {t:.1f} s")
