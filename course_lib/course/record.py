"""The verified record: what each chapter's run at `small` measured, claim by claim, and on what.

    course verify [NN ...] [--scale small]

runs each chapter's notebook headless (as `course run` does, in its own process), collects the claims and
measurements it made (`course_lib.claims`), and writes them into `results/record.json` and a readable
`results/record.md`, one entry per chapter: every claim (value, per-seed values, threshold, pass / fail), the
wall time and peak memory of the run, the machine (CPU, cores, threads, torch, date) and what it measured (a
hash of the chapter's source and of `course_lib`). Chapters not named keep their entries.

The prose cites entries as `{rec:NAME}`; `course notebook sync` fills them in from here. `problems()` lists
what makes the record disagree with the sources: a chapter whose source changed since it was verified (stale),
a citation the record does not hold, a chapter that claims but was never verified, a failed claim.
"""

from __future__ import annotations

import datetime as _dt
import fcntl
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import book
from ..claims import RECORD_ENV, citations, format_value, read_entries

RESULTS_DIR = book.REPO_ROOT / "results"
RECORDED_SCALE = "small"  # the scale whose record the prose cites


def record_path(scale: str = RECORDED_SCALE) -> Path:
    return RESULTS_DIR / ("record.json" if scale == RECORDED_SCALE else f"record-{scale}.json")


def source_hash(ch: book.Chapter) -> str:
    return hashlib.sha256(ch.script_path.read_bytes()).hexdigest()[:16]


def library_hash() -> str:
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent  # the whole package, library and tooling
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(), "cores": cores,
        "threads": int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS", "").isdigit() else cores,
        "load_avg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------------------------------------
# reading and writing the record (several `course verify` may run at once: one lock, read-modify-write)
# ----------------------------------------------------------------------------------------------------------

def load(scale: str = RECORDED_SCALE) -> dict:
    path = record_path(scale)
    if not path.exists():
        return {"scale": scale, "chapters": {}}
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def _locked():
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    with open(RESULTS_DIR / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def update(chapter_id: str, result: dict, scale: str = RECORDED_SCALE) -> None:
    with _locked():
        rec = load(scale)
        rec["chapters"][chapter_id] = result
        rec["chapters"] = dict(sorted(rec["chapters"].items()))
        record_path(scale).write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        record_path(scale).with_suffix(".md").write_text(markdown(rec), encoding="utf-8")


def entries(chapter_id: str, scale: str = RECORDED_SCALE) -> dict[str, dict]:
    return load(scale)["chapters"].get(chapter_id, {}).get("entries", {})


# ----------------------------------------------------------------------------------------------------------
# the readable table
# ----------------------------------------------------------------------------------------------------------

def _v(e: dict) -> str:
    s = format_value(e, "pm" if e.get("values") and len(e["values"]) > 1 else None)
    if e.get("values") and len(e["values"]) > 1:
        s += f" (seeds: {', '.join(format_value({'value': v}) for v in e['values'])})"
    return s + (f" {e['unit']}" if e.get("unit") else "")


def claims_table(chapter: dict) -> list[tuple[str, str, str, str, str]]:
    """(name, claim, measured, threshold, verdict) for each claim of a chapter's entry."""
    rows = []
    for name, e in chapter.get("entries", {}).items():
        if e.get("op"):
            rows.append((name, e.get("text") or "", _v(e), f"{e['op']} {format_value({'value': e['threshold']})}",
                         "pass" if e.get("passed") else "FAIL"))
    return rows


def markdown(rec: dict) -> str:
    lines = [f"# The verified record (scale `{rec['scale']}`)", "",
             "Written by `course verify`; the chapters' prose cites these entries as `{rec:NAME}`. "
             "Do not edit by hand.", ""]
    for cid, ch in rec["chapters"].items():
        m = ch.get("machine", {})
        lines += [f"## {cid} · {ch.get('title', '')}", "",
                  f"{ch.get('status', '?')}: {ch.get('wall_s', 0):.0f} s, peak {ch.get('peak_rss_mb') or 0:.0f} MB; "
                  f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('threads', '?')} threads, "
                  f"torch {m.get('torch', '?')}, load {m.get('load_avg_1min', '?')}; {ch.get('date', '')}; "
                  f"source {ch.get('source_sha', '')}, course_lib {ch.get('library_sha', '')}", ""]
        if ch.get("error"):
            lines += ["```", ch["error"], "```", ""]
        rows = claims_table(ch)
        if rows:
            lines += ["| claim | measured | threshold | verdict |", "|---|---|---|---|"]
            lines += [f"| `{n}`: {t} | {v} | {th} | {ok} |" for n, t, v, th, ok in rows]
            lines.append("")
        others = [(n, e) for n, e in ch.get("entries", {}).items() if not e.get("op")]
        if others:
            lines += ["| measured | value |", "|---|---|"]
            lines += [f"| `{n}` | {_v(e)} |" for n, e in others]
            lines.append("")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# verifying a chapter
# ----------------------------------------------------------------------------------------------------------

def verify_chapter(ch: book.Chapter, scale: str = RECORDED_SCALE, cell_timeout: int = 3600,
                   out: Path | None = None) -> dict:
    """Run chapter `ch` at `scale` in its own process; return its record entry (also written to the record).
    The executed notebook goes where `course run` puts it (outputs/NN-slug/SCALE), for `course book --reuse`."""
    out = out or ch.executed_dir(scale)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "claims.jsonl"
        log.touch()
        source_sha, library_sha, about = source_hash(ch), library_hash(), machine()
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course_lib.course.record", str(ch.script_path), scale,
                               str(out), str(cell_timeout)],
                              env={**os.environ, RECORD_ENV: str(log), "COURSE_SCALE": scale, "TQDM_DISABLE": "1"},
                              capture_output=True, text=True)
        wall = time.perf_counter() - start
        found = read_entries(log)
    stats = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{") and '"peak_rss_mb"' in line:
            stats = json.loads(line)
    failed = [n for n, e in found.items() if e.get("op") and not e.get("passed")]
    result = {
        "title": ch.title, "status": "passed" if proc.returncode == 0 and not failed else "failed",
        "scale": scale, "wall_s": round(stats.get("seconds", wall), 1), "peak_rss_mb": stats.get("peak_rss_mb"),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": about,
        "source_sha": source_sha, "library_sha": library_sha, "entries": found,
    }
    _fill_executed(out / ch.notebook_path.name, found)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        result["error"] = tail
    if source_hash(ch) != source_sha:
        result["status"] = "failed"
        result["error"] = (result.get("error", "") + "\nthe chapter's source changed while it was verified").strip()
    update(ch.id, result, scale)
    return result


def _fill_executed(path: Path, found: dict) -> None:
    """Fill the executed copy's citations with what this run measured (the pages then show this run's numbers)."""
    if not path.exists():
        return
    import nbformat

    from ..claims import fill
    from .site import notebook_html

    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            c.source = fill(c.source, found, where=path.name, strict=False)
    nbformat.write(nb, path)
    path.with_suffix(".html").write_text(notebook_html(nb), encoding="utf-8")


def _run_in_process(script: str, scale: str, out: str, cell_timeout: str) -> int:
    """Inside the child process: execute the notebook whose source is `script` (a path; a chapter's number or
    slug also works), then print its time and the kernel's peak memory."""
    import resource

    import jupytext

    from .notebooks import execute_notebook

    # the source itself, not the built .ipynb: what runs is what the recorded hash names
    script = Path(script) if Path(script).suffix == ".py" else book.chapter(script).script_path
    nb = jupytext.read(script)
    seconds = execute_notebook(script.with_suffix(".ipynb"), Path(out), scale, timeout=int(cell_timeout), nb=nb)
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the kernel, reaped at shutdown (kB on Linux)
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mb": round(kb / 1024, 1)}))
    return 0


# ----------------------------------------------------------------------------------------------------------
# does the record agree with the sources?
# ----------------------------------------------------------------------------------------------------------

def makes_claims(source: str) -> bool:
    return "claims import" in source or "claim(" in source


def problems(chapters=None, scale: str = RECORDED_SCALE) -> list[str]:
    rec = load(scale)["chapters"]
    out = []
    for ch in chapters if chapters is not None else [c for c in book.chapters() if c.ready]:
        src = ch.script_path.read_text(encoding="utf-8")
        cited = citations(src)
        if not cited and not makes_claims(src):
            continue
        entry = rec.get(ch.id)
        if entry is None:
            out.append(f"chapter {ch.id} makes claims or cites the record but has never been verified: "
                       f"run `course verify {ch.id} --scale {scale}`")
            continue
        if entry.get("source_sha") != source_hash(ch):
            out.append(f"chapter {ch.id}'s record is stale: {ch.script_path.name} changed since it was verified "
                       f"({entry.get('date')}); run `course verify {ch.id} --scale {scale}`")
        missing = sorted(set(cited) - set(entry.get("entries", {})))
        if missing:
            out.append(f"chapter {ch.id} cites entries its record does not hold: {', '.join(missing)}")
        failed = [n for n, e in entry.get("entries", {}).items() if e.get("op") and not e.get("passed")]
        if failed or entry.get("status") != "passed":
            out.append(f"chapter {ch.id}'s verified run did not pass"
                       + (f" (failed claims: {', '.join(failed)})" if failed else f": {entry.get('error', '')}"))
    return out


if __name__ == "__main__":
    raise SystemExit(_run_in_process(*sys.argv[1:5]))
