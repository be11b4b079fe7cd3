"""`course book`: the course as a static website, built from `book.toml` and the executed notebooks.

    course book --scale smoke --out site/

1. executes every ready chapter's notebook at the chosen scale (`course run`, in parallel with --jobs), or, with
   --reuse, takes an executed copy under outputs/ that is newer than the notebook, or the copy `course verify`
   executed from the current source (`course book --scale small --reuse` publishes the verified run);
2. renders each one with nbconvert's JupyterLab template (code highlighted, figures embedded), with navigation
   between chapters; equations are converted to MathML when the page is built (latex2mathml), which the browser
   typesets itself: no script, nothing fetched from the network, the site works offline;
3. writes the index (chapter list, summary, a thumbnail figure, time and hardware) and the instructor's view
   (objectives, prerequisites, time at each scale, exercises with their checks), both from `book.toml` and the
   notebooks.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import book

TEMPLATES = Path(__file__).parent / "site_templates"


class SiteBuildError(RuntimeError):
    pass


@dataclass
class Executed:
    chapter: book.Chapter
    notebook: Path  # the executed copy
    seconds: float | None  # None when reused and its time was not recorded


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "time not recorded"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def _fmt_budget(s: int) -> str:
    return f"≤ {s} s" if s < 120 else (f"≤ {s / 60:.0f} min" if s < 7200 else f"≤ {s / 3600:.0f} h")


def _hardware(ch: book.Chapter, scale: str) -> str:
    if scale == "full":
        return "one GPU (bf16)" if ch.gpu_at_full else "a CPU (a GPU is faster)"
    return "2 CPU cores (CI)" if scale == "smoke" else "a laptop CPU"


# ----------------------------------------------------------------------------------------------------------
# 1. execution
# ----------------------------------------------------------------------------------------------------------

def execute_chapters(chapters, scale: str, executed_dir: Path, jobs: int = 1, reuse: bool = False) -> list[Executed]:
    """Execute each chapter's notebook in its own `course run` process, `jobs` at a time (progress bars off: a
    static page would show them as a wall of stderr)."""

    def one(ch: book.Chapter) -> Executed:
        out = ch.executed_dir(scale, executed_dir)
        nb, stamp = out / ch.notebook_path.name, out / "seconds.json"
        if reuse and nb.exists() and nb.stat().st_mtime >= ch.notebook_path.stat().st_mtime:
            seconds = json.loads(stamp.read_text())["seconds"] if stamp.exists() else None
            return Executed(ch, nb, seconds)
        verified = _verified_run(ch, scale) if reuse else None
        if verified and nb.exists():
            return Executed(ch, nb, verified["wall_s"])
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "course_lib.cli", "run", ch.id, "--scale", scale,
                               "--out", str(out)], capture_output=True, text=True,
                              env={**os.environ, "COURSE_SCALE": scale, "TQDM_DISABLE": "1"})
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise SiteBuildError(f"chapter {ch.id} ({ch.notebook}) failed at scale {scale}; the site is not built.\n"
                                 f"Run `course run {ch.id} --scale {scale}` to see the whole error. Last lines:\n{tail}")
        stamp.write_text(json.dumps({"seconds": seconds}))
        return Executed(ch, nb, seconds)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, chapters))


def _verified_run(ch: book.Chapter, scale: str) -> dict | None:
    """The record's entry for `ch` when `course verify` ran its current source at `scale` (its executed copy is
    where `course run` puts it), else None."""
    from . import record

    entry = record.load(scale)["chapters"].get(ch.id)
    return entry if entry and entry.get("source_sha") == record.source_hash(ch) else None


def claims_cell(ch: book.Chapter, scale: str):
    """A markdown cell closing a chapter's page: its claims as the verified record holds them."""
    import nbformat

    from . import record

    entry = record.load(record.RECORDED_SCALE)["chapters"].get(ch.id)
    rows = record.claims_table(entry) if entry else []
    if not rows:
        return None
    fresh = entry.get("source_sha") == record.source_hash(ch)
    m = entry.get("machine", {})
    lines = [f"## What this chapter claims, verified at `{entry['scale']}`", "",
             f"`course verify {ch.id}` on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, torch "
             f"{m.get('torch', '?')}), {entry.get('date', '')}: {entry.get('wall_s', 0):.0f} s, peak "
             f"{entry.get('peak_rss_mb') or 0:.0f} MB." + ("" if fresh else
                                                           " **The chapter changed since: this record is stale.**"),
             "", "| claim | measured | threshold | verdict |", "|---|---|---|---|"]
    lines += [f"| {t} | {v} | {th} | {ok} |" for _, t, v, th, ok in rows]
    if scale != entry["scale"]:
        lines += ["", f"*The page above was executed at `{scale}`, where the numbers mean little; these are the "
                      f"verified `{entry['scale']}` run's.*"]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


# ----------------------------------------------------------------------------------------------------------
# 2. what the pages say about a chapter, read from the notebook
# ----------------------------------------------------------------------------------------------------------

def _first_markdown(nb) -> str:
    return next((c.source for c in nb.cells if c.cell_type == "markdown"), "")


def objectives(nb) -> list[str]:
    """The numbered list under "**You will**" in the notebook's opening cell."""
    text = _first_markdown(nb)
    m = re.search(r"\*\*You will\*\*\s*\n((?:\s*\d+\..*\n?(?:[ \t]+\S.*\n?)*)+)", text)
    if not m:
        return []
    items = re.split(r"\n\s*\d+\.\s+", "\n" + m.group(1).strip())
    return [" ".join(i.split()) for i in items if i.strip()]


def prerequisites(nb) -> str:
    m = re.search(r"\*\*Prerequisites:?\*\*:?\s*(.+?)(?:\n\s*\n|$)", _first_markdown(nb), re.S)
    return " ".join(m.group(1).split()) if m else ""


def exercises(nb, chapter_id: str) -> list[dict]:
    """Each `exercise` cell's function and the check that marks it (name, call, the check's docstring)."""
    import importlib

    try:
        checks = importlib.import_module(f"course_lib.checks.ch{chapter_id}")
    except ModuleNotFoundError:
        checks = None
    cells = [c for c in nb.cells if c.cell_type == "code"]
    out = []
    for i, cell in enumerate(cells):
        if "exercise" not in cell.metadata.get("tags", []):
            continue
        defs = [n.name for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        nxt = cells[i + 1].source if i + 1 < len(cells) else ""
        m = re.search(r"check\.(\w+)\(", nxt)
        doc = (getattr(getattr(checks, m.group(1), None), "__doc__", None) or "") if m else ""
        out.append({"name": ", ".join(defs) or "(code cell)", "check": f"check.{m.group(1)}" if m else "(no check)",
                    "doc": " ".join(doc.strip().split("\n\n")[0].split())})
    return out


def thumbnail(nb) -> bytes | None:
    """The notebook's last PNG figure: the result the chapter builds up to."""
    pngs = [o["data"]["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]
    return base64.b64decode(pngs[-1]) if pngs else None


# ----------------------------------------------------------------------------------------------------------
# 3. the site
# ----------------------------------------------------------------------------------------------------------

def _inline_md(text: str):
    """Escape `text` for HTML; its `backticks` become <code> and its *stars* <em>."""
    from markupsafe import Markup, escape

    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))
    return Markup(re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", html))


def notebook_html(nb, course: dict | None = None) -> str:
    """An executed notebook as one HTML page: the course template, equations as MathML, no script. `course` adds
    the site's navigation and chapter line; without it the page stands alone (what `course run` writes)."""
    html, _ = _exporter().from_notebook_node(nb, resources={"course": course} if course else None)
    return html


def _exporter():
    """nbconvert's HTML exporter with the course template, its markdown equations rendered to MathML."""
    from jinja2 import pass_context
    from latex2mathml.converter import convert
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathMLRenderer(IPythonRenderer):
        """Jupyter's own markdown parser (the same `$...$` / `$$...$$` rules as the notebook), MathML out."""

        def block_math(self, body: str) -> str:
            return convert(body, display="block")

        def inline_math(self, body: str) -> str:
            return convert(body)

        def latex_environment(self, name: str, body: str) -> str:
            return convert(f"\\begin{{{name}}}{body}\\end{{{name}}}", display="block")

    class Exporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = MathMLRenderer(escape=False, attachments=cell.get("attachments", {}),
                                      embed_images=self.embed_images, anchor_link_text=self.anchor_link_text,
                                      exclude_anchor_links=self.exclude_anchor_links, **self.lexer_options)
            return MarkdownWithMath(renderer=renderer).render(source)

    return Exporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)])


def build_site(out: Path | str, scale: str = "smoke", jobs: int = 1, reuse: bool = False,
               executed_dir: Path | str | None = None) -> Path:
    """Build the site into `out` and return the index page's path."""
    import jinja2
    import nbformat

    out = Path(out)
    executed_dir = Path(executed_dir) if executed_dir else book.OUTPUTS
    meta = book.load_book()["course"]
    all_chapters = book.chapters()
    ready = [c for c in all_chapters if c.ready]
    runs = {e.chapter.id: e for e in execute_chapters(ready, scale, executed_dir, jobs, reuse)}

    out.mkdir(parents=True, exist_ok=True)
    for sub in ("img", "notebooks"):
        (out / sub).mkdir(exist_ok=True)
    for asset in ("site.css", "favicon.svg"):
        shutil.copy(TEMPLATES / asset, out / asset)

    pages = []
    for ch in all_chapters:
        page = {"id": ch.id, "title": ch.title, "summary": ch.summary, "status": ch.status,
                "href": f"{ch.id}-{ch.slug}.html" if ch.ready else None, "thumbnail": None,
                "datasets": ", ".join(ch.datasets) or "none", "sources": ", ".join(ch.sources),
                "time": (f"≤ {ch.budget_s['small'] // 60} min on a laptop CPU at small; "
                         f"{_fmt_budget(ch.budget_s['full'])} on {_hardware(ch, 'full')} at full"),
                "budgets": [{"scale": s, "budget": _fmt_budget(b), "hardware": _hardware(ch, s)}
                            for s, b in ch.budget_s.items()]}
        if ch.ready:
            run = runs[ch.id]
            nb = nbformat.read(run.notebook, as_version=4)
            verified = claims_cell(ch, scale)
            if verified is not None:
                nb.cells.append(verified)
            png = thumbnail(nb)
            if png:
                (out / "img" / f"{ch.id}.png").write_bytes(png)
                page["thumbnail"] = f"img/{ch.id}.png"
            page.update(nb=nb, seconds=_fmt_seconds(run.seconds), objectives=objectives(nb),
                        prerequisites=prerequisites(nb), exercises=exercises(nb, ch.id),
                        notebook_href=f"notebooks/{ch.notebook_path.name}")
            shutil.copy(ch.notebook_path, out / "notebooks" / ch.notebook_path.name)
        pages.append(page)

    linked = [p for p in pages if p["href"]]
    for k, p in enumerate(linked):
        nav = {**p, "scale": scale, "prev": linked[k - 1] if k > 0 else None,
               "next": linked[k + 1] if k + 1 < len(linked) else None}
        (out / p["href"]).write_text(notebook_html(p["nb"], nav), encoding="utf-8")

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "pages"), autoescape=True)
    env.filters["inline_md"] = _inline_md
    for name in ("index.html", "instructor.html"):
        html = env.get_template(f"{name}.j2").render(course=meta, chapters=pages, scale=scale)
        (out / name).write_text(html, encoding="utf-8")
    return out / "index.html"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from ..scale import PRESETS, get_scale

    p = argparse.ArgumentParser(prog="course book", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", choices=list(PRESETS), default="smoke",
                   help="scale the notebooks are executed at (default smoke: minutes on a CPU)")
    p.add_argument("--out", default=str(book.REPO_ROOT / "site"), help="output folder (default site/)")
    p.add_argument("--jobs", type=int, default=1, help="notebooks executed at once (default 1)")
    p.add_argument("--reuse", action="store_true",
                   help="use executed notebooks under outputs/ that are newer than their source, or that "
                        "`course verify` ran on the current source (with --scale small: the verified run's pages)")
    args = p.parse_args(argv)
    scale = get_scale(args.scale).name
    start = time.perf_counter()
    try:
        index = build_site(args.out, scale=scale, jobs=args.jobs, reuse=args.reuse)
    except SiteBuildError as e:
        print(f"course book: {e}", file=sys.stderr)
        return 1
    print(f"site built at scale {scale} in {time.perf_counter() - start:.0f} s: {index}")
    return 0
