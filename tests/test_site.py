"""The course site: ``make site`` builds, and a real browser finds every page whole (``make test-site``).

Headless Chromium (Debian's package, driven by Playwright) loads every page from a local
``http.server`` on 127.0.0.1, with every request elsewhere blocked (the site must work offline):
no page or asset of the site fails to load, no image is missing, every link inside the site points
at a page or file that exists and, with a ``#fragment``, at an element that exists there; and the
screenshots of lesson 03's learning curve and lesson 05's interval plot show a drawn plot.
"""

from __future__ import annotations

import functools
import http.server
import io
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from rmr1_utils import course_site

pytestmark = pytest.mark.site

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: (lesson page, text of the code cell that draws it): the plots whose screenshots must show a plot.
PLOTS = {
    "lesson 03 learning curve": ("lessons/03_distillation/", 'plot_training_curves(report["log_history"]'),
    "lesson 05 interval plot": ("lessons/05_evaluation/", "pairwise accuracy (95% bootstrap intervals by item)"),
}

_PAGE_FACTS = """() => ({
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  missing_images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 100)),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
})"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list]:
    """The site, built by the code ``make site`` runs (MkDocs ``--strict``: a broken Markdown link fails here)."""
    root = tmp_path_factory.mktemp("site")
    statuses = course_site.build(root / "site", root / "docs")
    return root / "site", statuses


@pytest.fixture(scope="module")
def server(site):
    folder, _ = site

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the test reports what failed, not every request
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


def _block_the_outside(context, base: str) -> list[str]:
    blocked = []

    def route(r):
        if r.request.url.startswith(base) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return blocked


def site_file(folder: Path, path: str) -> Path | None:
    """The file a URL path is served from (``dir/`` → ``dir/index.html``), or ``None``."""
    target = folder / unquote(path).lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


def test_the_site_has_every_lesson_with_its_recorded_outputs_and_the_guide(site):
    folder, statuses = site
    notebooks = course_site.lesson_notebooks()
    assert [s.name for s in statuses] == [p.name for p in notebooks.values()]
    for name in (p.name for p in notebooks.values()):
        page = folder / "lessons" / name.removesuffix(".ipynb") / "index.html"
        assert page.is_file(), f"no page for {name}"
    recorded = [s for s in statuses if s.mode is not None]
    assert recorded, "no lesson has a recorded run"
    for section in course_site.readme_pages((course_site.ROOT / "README.md").read_text(encoding="utf-8"))[1:]:
        assert (folder / section.path.removesuffix(".md") / "index.html").is_file(), f"no guide page for {section.title}"
    assert (folder / "resources" / "index.html").is_file() and (folder / "results" / "index.html").is_file()


def test_every_page_loads_with_no_broken_link_or_missing_image(site, server, browser):
    folder, _ = site
    blocked = _block_the_outside(browser, server)
    pages = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.html"))
    assert len(pages) >= 20
    failures, links, ids = [], set(), {}
    page = browser.new_page()
    page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    # a request cut short by the next navigation (the search worker still loading) is not a failure of the site
    page.on(
        "requestfailed",
        lambda r: (
            failures.append(f"{r.failure} {r.url}")
            if r.url.startswith(server) and "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    for path in pages:
        url = f"{server}/{path}"
        response = page.goto(url, wait_until="load")
        assert response is not None and response.ok, f"{url}: {response and response.status}"
        facts = page.evaluate(_PAGE_FACTS)
        assert not facts["missing_images"], f"{path}: images that did not load: {facts['missing_images']}"
        ids[path] = set(facts["ids"])
        links.update((path, link) for link in facts["links"] if link.startswith(server))
    page.close()
    assert not failures, f"requests of the site that failed: {failures[:10]}"
    broken = []
    for source, link in sorted(links):
        parts = urlsplit(link)
        target = site_file(folder, parts.path)
        if target is None:
            broken.append(f"{source}: {link}")
            continue
        key = target.relative_to(folder).as_posix()
        if parts.fragment and key in ids and unquote(parts.fragment) not in ids[key]:
            broken.append(f"{source}: {link} (no #{parts.fragment} there)")
    assert not broken, f"{len(broken)} broken links, e.g. {broken[:10]}"
    # only the outside was blocked: nothing the pages need from the site itself
    assert all(not url.startswith(server) for url in blocked)


@pytest.mark.parametrize("plot", PLOTS, ids=list(PLOTS))
def test_the_plots_are_drawn(server, browser, plot, tmp_path):
    import numpy as np
    from PIL import Image

    path, code = PLOTS[plot]
    _block_the_outside(browser, server)
    page = browser.new_page()
    page.goto(f"{server}/{path}", wait_until="load")
    cell = page.locator(".jp-CodeCell[id]", has_text=code)  # the cell itself, not the wrapper mkdocs-jupyter puts round it
    assert cell.count() == 1, f"{path}: {cell.count()} code cells contain {code!r}"
    image = cell.locator(".jp-OutputArea img")
    assert image.count() >= 1, f"{plot}: the cell has no image output (is the lesson recorded? make record-lessons)"
    png = image.last.screenshot(path=str(tmp_path / "plot.png"))
    page.close()
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    grey = rgb.mean(axis=2)
    assert grey.shape[0] > 100 and grey.shape[1] > 200, f"{plot}: a {grey.shape} image"
    # blank (or one colour): no variance; a plot has axes, ticks and text off the background ...
    assert grey.std() > 10, f"{plot}: pixel standard deviation {grey.std():.1f}: blank"
    off_background = (np.abs(grey - np.median(grey)) > 30).mean()
    assert off_background > 0.02, f"{plot}: {100 * off_background:.2f} % of the pixels off the background"
    # ... and its data in matplotlib's first colour (blue, #1f77b4): a plot with empty axes fails here
    blue = ((rgb[..., 2] - rgb[..., 0] > 60) & (rgb[..., 2] > 120)).mean()
    assert blue > 0.003, f"{plot}: {100 * blue:.2f} % blue pixels: no data drawn"
