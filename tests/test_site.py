"""The course website: `course book` builds it at smoke scale, and a real headless Chromium reads it.

The browser part needs Chromium (Debian: `apt-get install chromium`) and the Python package playwright (in the
`test` extra). Without them these tests are skipped with the reason, unless COURSE_REQUIRE_BROWSER=1 (set by
tests/run_all.sh, which CI runs), where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from course_lib.course import book, site

ARTIFACTS = book.REPO_ROOT / "outputs" / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The whole site at smoke scale. Notebooks nbval already ran in this session (the course plugin keeps them
    under $COURSE_EXECUTED_DIR) are reused; any other ready notebook is executed here, two at a time."""
    root = tmp_path_factory.mktemp("site")
    executed = Path(os.environ.get("COURSE_EXECUTED_DIR") or root / "executed")
    index = site.build_site(root / "site", scale="smoke", jobs=2, executed_dir=executed, reuse=True)
    return index.parent


def test_pages_follow_the_manifest(built):
    index = (built / "index.html").read_text()
    for ch in book.chapters():
        assert ch.title.replace("'", "&#39;") in index or ch.title in index
        page = built / f"{ch.id}-{ch.slug}.html"
        assert page.exists() == ch.ready, f"chapter {ch.id} is {ch.status}: page exists={page.exists()}"
        if ch.ready:
            assert f'href="{page.name}"' in index
            assert (built / "notebooks" / ch.notebook_path.name).exists()
    assert 'href="instructor.html"' in index


def test_no_resource_comes_from_the_network(built):
    """The site works offline: no script, stylesheet or image is loaded from another host."""
    for page in built.glob("*.html"):
        html = page.read_text()
        remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert not remote, f"{page.name} loads {remote}"


def test_instructor_view_lists_objectives_prerequisites_and_every_exercise(built):
    import nbformat

    html = (built / "instructor.html").read_text()
    for ch in book.chapters():
        if not ch.ready:
            continue
        nb = nbformat.read(ch.notebook_path, as_version=4)
        assert site.objectives(nb), f"chapter {ch.id}: no '**You will**' list of objectives in its opening cell"
        assert site.prerequisites(nb), f"chapter {ch.id}: no '**Prerequisites:**' line in its opening cell"
        assert f'id="ch{ch.id}"' in html
        for ex in site.exercises(nb, ch.id):
            assert ex["check"] != "(no check)", f"chapter {ch.id}: exercise {ex['name']} has no check cell after it"
            assert f"<code>{ex['check']}</code>" in html


def test_notebook_metadata_readers_on_a_known_cell():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T\n\n**You will**\n1. build a thing;\n2. measure it\n   across lines.\n\n"
                                      "**Prerequisites:** chapter 01\n(the game).\n\nMore text."),
        nbformat.v4.new_code_cell("def f(x):\n    return x", metadata={"tags": ["exercise"]}),
        nbformat.v4.new_code_cell("check.optimal_discriminator(f)", metadata={"tags": ["check"]}),
    ])
    assert site.objectives(nb) == ["build a thing;", "measure it across lines."]
    assert site.prerequisites(nb) == "chapter 01 (the game)."
    [ex] = site.exercises(nb, "01")
    assert ex["name"] == "f" and ex["check"] == "check.optimal_discriminator" and ex["doc"]


# ----------------------------------------------------------------------------------------------------------
# in a real browser
# ----------------------------------------------------------------------------------------------------------

def _chromium() -> str | None:
    exe = os.environ.get("COURSE_BROWSER")
    return exe or next((p for n in ("chromium", "chromium-browser", "google-chrome")
                        if (p := shutil.which(n))), None)


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        exe = None
    if exe is None:
        why = ("the browser test needs Chromium (Debian: apt-get install chromium) and playwright "
               "(pip install -e '.[test]')")
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(built):
    """The site over HTTP on localhost, as a reader's browser gets it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(built))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _open(browser, url):
    """Load a page; return it with the console errors, page errors and failed requests seen while loading."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="load")
    return page, problems


def test_site_in_a_browser(browser, served):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, problems = _open(browser, f"{served}/index.html")
    assert "GANs" in page.title()
    page.screenshot(path=str(ARTIFACTS / "site-index.png"), full_page=True)
    links = page.eval_on_selector_all("ol.chapters h2 a", "els => els.map(e => e.getAttribute('href'))")
    ready = [c for c in book.chapters() if c.ready]
    assert links == [f"{c.id}-{c.slug}.html" for c in ready]
    thumbs = page.eval_on_selector_all("img.thumb", "els => els.map(e => [e.src, e.naturalWidth])")
    assert thumbs and all(w > 0 for _, w in thumbs), f"thumbnails that did not load: {thumbs}"
    assert not problems, problems
    page.close()

    for href in links + ["instructor.html"]:
        page, problems = _open(browser, f"{served}/{href}")
        if href != "instructor.html":
            # equations arrive as MathML (converted when the site is built) and the browser lays them out
            # (the prose only: code may hold TeX in strings, e.g. a matplotlib label r"$\mathrm{KL}$")
            text = "\n".join(page.eval_on_selector_all(".jp-RenderedMarkdown", "els => els.map(e => e.innerText)"))
            assert text.strip(), f"{href}: no prose found"
            assert "$$" not in text, f"{href}: raw $$ left in the page"
            assert not re.search(r"\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$", text), f"{href}: raw inline TeX left"
            sizes = page.eval_on_selector_all("main math", "els => els.map(e => e.getBoundingClientRect().width)")
            assert sizes and all(w > 0 for w in sizes), f"{href}: equations that did not lay out: {len(sizes)}"
            errors = page.eval_on_selector_all("merror", "els => els.map(e => e.textContent)")
            assert not errors, f"{href}: equation errors {errors}"
            imgs = page.eval_on_selector_all("main img", "els => els.map(e => e.naturalWidth)")
            assert imgs and all(w > 0 for w in imgs), f"{href}: figures that did not render: {imgs}"
            assert page.locator("nav.course-nav a[href='index.html']").count() == 2
            if href == links[0]:
                page.screenshot(path=str(ARTIFACTS / "site-chapter.png"))
        assert not problems, f"{href}: {problems}"
        page.close()


def test_a_standalone_page_has_mathml_and_nothing_of_the_site():
    """What `course run` writes next to the executed notebook: the same rendering, without the site's links."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "The optimum $D^*(x) = \\frac{p_\\text{data}(x)}{p_\\text{data}(x) + p_g(x)}$ and\n\n"
        "$$V(D^*, G) = -\\log 4 + 2\\,\\mathrm{JSD}(p_\\text{data} \\| p_g).$$")])
    html = site.notebook_html(nb)
    assert html.count("<math") == 2 and 'display="block"' in html and "<mfrac>" in html
    assert "$" not in html.split("<main>")[1]
    assert "site.css" not in html and "course-nav" not in html and "<script src=" not in html
    page = site.notebook_html(nb, {"id": "01", "prev": None, "next": None, "scale": "smoke", "seconds": "1 s",
                                   "time": "t", "datasets": "d", "sources": "s", "notebook_href": "n.ipynb"})
    assert 'href="site.css"' in page and page.count('class="course-nav"') == 2


def test_the_site_reuses_the_copy_nbval_executed_and_runs_no_notebook_again(tmp_path, monkeypatch):
    """The default test run executes each notebook once: nbval runs it, the course plugin writes that run where
    the site build looks (`write_executed`), and the build takes it instead of running `course run`."""
    import nbformat

    from course_lib.course import pytest_plugin

    ch = next(c for c in book.chapters() if c.ready)
    nb = nbformat.read(ch.notebook_path, as_version=4)  # stands in for the copy nbval executed
    written = pytest_plugin.write_executed(ch, nb, 12.5, tmp_path, "smoke")

    def no_second_run(*args, **kwargs):
        raise AssertionError(f"the site build executed a notebook again: {args[0]}")

    monkeypatch.setattr(site.subprocess, "run", no_second_run)
    [run] = site.execute_chapters([ch], "smoke", tmp_path, reuse=True)
    assert run.notebook == written and run.seconds == 12.5
    old = ch.notebook_path.stat().st_mtime - 10
    os.utime(written, (old, old))  # an executed copy older than its source is stale: the build must run it again
    monkeypatch.setattr(site, "_verified_run", lambda ch, scale: None)  # nor is there a verified run to take
    with pytest.raises(AssertionError, match="executed a notebook again"):
        site.execute_chapters([ch], "smoke", tmp_path, reuse=True)


def test_notebooks_are_collected_before_the_site_test():
    """The site test reuses nbval's runs only if nbval ran first: `testpaths` lists notebooks before tests."""
    import tomllib

    paths = tomllib.loads((book.REPO_ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["testpaths"]
    assert paths.index("notebooks") < paths.index("tests")
