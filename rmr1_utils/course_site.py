"""``make site``: the course as a static website — every lesson with its recorded outputs, and the guide pages.

Built with MkDocs, the Material theme and mkdocs-jupyter: mkdocs-jupyter renders a notebook with
its stored outputs as a page (no re-execution, no kernel), the three are pure-Python wheels pinned in
``requirements-site.txt``, and nothing else is needed — no Node.js, no Quarto binary, no LaTeX.
(Jupyter Book 2 builds on the MyST Node.js engine; Quarto is a separate binary download; both fail
where only the package registries are reachable, as on the course machine.)

The pages are assembled into ``build/site-docs/`` (never edited by hand), then ``mkdocs build
--strict`` writes ``build/site/``:

- **lessons** — each ``notebooks/NN_*.ipynb`` as committed (its current text), with the outputs of
  its recording in ``site/recorded/`` (``make record-lessons``) laid onto the code cells they came
  from: a code cell whose source changed since the recording gets none, and the page says so. A
  note under the title says how the outputs were recorded (mode, date, time, peak RAM);
- **the guide** — the README, one page per ``##`` section (its links rewritten: a lesson to its
  page, an anchor to the page holding it, another repository file to its copy on GitHub);
- **time and memory** — the table of :mod:`rmr1_utils.lesson_recording`;
- **teaching** — every Markdown page under ``docs/``; **recorded runs** — ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import posixpath
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rmr1_utils import __version__
from rmr1_utils.errors import RMR1Error
from rmr1_utils.lesson_recording import (
    BUSY_NOTE,
    COMMANDS,
    RECORDED_DIR,
    ROOT,
    busy,
    course_table,
    format_mib,
    format_time,
    lesson_notebooks,
    load_resources,
)

CONFIG = ROOT / "site" / "mkdocs.yml"
DOCS_BUILD = ROOT / "build" / "site-docs"
SITE_BUILD = ROOT / "build" / "site"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Where a repository file that is not a page of the site is linked (the release the lessons pin).
BLOB_URL = f"https://github.com/rmr1-course/rmr1/blob/v{__version__}"


def slugify(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's ``toc`` slug): GitHub's for the README's ASCII headings."""
    from markdown.extensions.toc import slugify as toc_slugify

    return toc_slugify(heading, "-")


@dataclass
class GuidePage:
    title: str
    path: str  # relative to the docs folder
    text: str
    source: str = "README.md"  # the repository file it comes from (its relative links start there)


def readme_pages(readme: str) -> list[GuidePage]:
    """The README cut at its ``##`` headings: the part before the first is the home page, each section a guide page."""
    parts = re.split(r"(?m)^## (.+)$", readme)
    pages = [GuidePage("Home", "index.md", parts[0])]
    for title, body in zip(parts[1::2], parts[2::2]):
        pages.append(GuidePage(title.strip("` "), f"guide/{slugify(title)}.md", f"# {title}\n{body}"))
    return pages


def _anchors(pages: Sequence[GuidePage]) -> dict[str, str]:
    found = {}
    for page in pages:
        in_fence = False
        for line in page.text.splitlines():
            in_fence ^= line.startswith("```")
            match = None if in_fence else re.match(r"#{1,6} (.+)", line)
            if match:
                found.setdefault(slugify(match.group(1)), page.path)
    return found


def _relative(target: str, page: str) -> str:
    depth = page.count("/")
    return "../" * depth + target


def rewrite_links(page: GuidePage, pages: Sequence[GuidePage], lessons: Sequence[str], extra: dict[str, str]) -> str:
    """A page's Markdown with repository links made site links: a lesson to its page, a README anchor
    to the guide page holding it, a file that is a page (``extra``) to that page, any other repository
    file to its copy on GitHub.

    Args:
        page: the page (``page.source``: where its relative links start).
        pages: every guide page cut from the README (for its anchors).
        lessons: the lesson notebooks' file names.
        extra: repository path → docs path for other files that are pages of the site.

    Raises:
        RMR1Error: a link to a README heading that does not exist, or out of the repository.
    """
    anchors = _anchors(pages)

    def site_link(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target):
            return match.group(0)  # a web address
        path, _, fragment = target.partition("#")
        hash_part = f"#{fragment}" if fragment else ""
        repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(page.source), path)) if path else page.source
        if repo_path.startswith("../"):
            raise RMR1Error(f"{page.source}: link to {target}, outside the repository")
        if repo_path == "README.md":
            where = anchors.get(fragment, "index.md") if fragment else "index.md"
            if fragment and fragment not in anchors:
                raise RMR1Error(f"{page.source}: link to README.md#{fragment}, a heading that does not exist")
            return f"[{text}]({'' if where == page.path else _relative(where, page.path)}{hash_part})"
        if not path:
            return match.group(0)  # an anchor on the same page
        name = posixpath.basename(repo_path)
        if repo_path.startswith("notebooks/") and name in lessons:
            return f"[{text}]({_relative('lessons/' + name, page.path)}{hash_part})"
        if repo_path in extra:
            return f"[{text}]({_relative(extra[repo_path], page.path)}{hash_part})"
        return f"[{text}]({BLOB_URL}/{repo_path}{hash_part})"

    return re.sub(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)", site_link, page.text)


# --- the lessons --------------------------------------------------------------------------------------


def _code(cell: dict) -> str:
    return "".join(cell["source"]).strip()


def lay_outputs(committed: dict, recorded: dict | None) -> tuple[dict, int]:
    """The committed notebook with each code cell's recorded outputs; and how many code cells got none.

    Code cells are matched by their source, in order (``difflib``), so text edits, new or removed
    Markdown cells never detach an output from its code; a changed code cell has no output to show.
    """
    nb = json.loads(json.dumps(committed))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if recorded is None:
        return nb, len(code)
    done = [c for c in recorded["cells"] if c["cell_type"] == "code"]
    matcher = difflib.SequenceMatcher(a=[_code(c) for c in code], b=[_code(c) for c in done], autojunk=False)
    matched = 0
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            cell, source = code[block.a + k], done[block.b + k]
            # a widget (a progress bar) has no state on a static page: only its first text would show ("0%")
            outputs = [o for o in source.get("outputs", []) if WIDGET_VIEW not in o.get("data", {})]
            cell["outputs"], cell["execution_count"] = outputs, source.get("execution_count")
            matched += 1
    return nb, len(code) - matched


def recording_note(lesson: str, recording: dict | None, missing: int) -> str:
    """The note under a lesson's title (HTML in the theme's admonition style: notebook Markdown has no
    ``!!!`` blocks): how its outputs were recorded, or why some are missing."""
    rerun = f"<code>{COMMANDS['full']} LESSONS={lesson}</code>"
    if recording is None:
        kind, title, lines = (
            "warning",
            "Not recorded yet",
            [f"No recorded run: the code is shown without outputs. Record it with {rerun}."],
        )
    else:
        facts = (
            f"on {recording['date']}, {recording['cores']} CPU cores: {format_time(recording)}, "
            f"peak RAM {format_mib(recording['peak_rss_mib'])}"
        )
        if recording["mode"] == "full":
            kind, title, lines = "note", "Recorded run", [f"The outputs below are from a full-mode run of this notebook {facts}."]
        else:
            kind, title = "warning", "Tiny-mode outputs"
            lines = [
                f"The outputs below are from a <b>tiny-mode</b> run {facts}: the method on small budgets, as CI runs it, "
                f"so its numbers are noise; the text states the full-mode numbers. The full-size recording: {rerun}."
            ]
        if busy(recording):
            lines.append(BUSY_NOTE)
        if missing:
            lines.append(f"{missing} code cell(s) changed since the recording and are shown without outputs: rerun {rerun}.")
    body = "".join(f"<p>{line}</p>" for line in lines)
    return f'<div class="admonition {kind}"><p class="admonition-title">{title}</p>{body}</div>'


@dataclass
class LessonPage:
    lesson: str
    name: str
    mode: str | None  # the recording's mode (None: not recorded)
    missing_outputs: int  # code cells without their recorded outputs


def lesson_page(path: Path, recorded_dir: Path = RECORDED_DIR) -> tuple[dict, LessonPage]:
    """One lesson's page: the committed notebook with its recorded outputs, and a note under the title."""
    committed = json.loads(path.read_text(encoding="utf-8"))
    stored = recorded_dir / path.name
    recorded = json.loads(stored.read_text(encoding="utf-8")) if stored.exists() else None
    nb, missing = lay_outputs(committed, recorded)
    recording = (recorded or {}).get("metadata", {}).get("rmr1_recording")
    if recorded is not None and recording is None:
        raise RMR1Error(f"{stored}: no rmr1_recording metadata; record it with {COMMANDS['full']} LESSONS={path.name[:2]}")
    title, _, rest = "".join(nb["cells"][0]["source"]).partition("\n")
    nb["cells"][0]["source"] = f"{title}\n\n{recording_note(path.name[:2], recording, missing)}\n{rest}"
    return nb, LessonPage(path.name[:2], path.name, recording and recording["mode"], missing)


def lesson_pages(root: Path = ROOT) -> list[LessonPage]:
    """Every lesson's page status (mode of its recording, code cells without outputs), without writing anything."""
    return [lesson_page(path)[1] for path in lesson_notebooks(root).values()]


def home_lessons(notebooks: dict[str, Path], statuses: Sequence[LessonPage]) -> str:
    """The home page's list of the lessons, each with what its page shows."""
    shown = {
        "full": "outputs of a full-mode run",
        "tiny": "outputs of a tiny-mode run (full recording pending)",
        None: "not recorded yet",
    }
    lines = ["", "## The lessons", ""]
    for status in statuses:
        source = json.loads(notebooks[status.lesson].read_text(encoding="utf-8"))["cells"][0]["source"]
        title = "".join(source).split("\n", 1)[0].lstrip("# ").strip()
        lines.append(f"- [{title}](lessons/{status.name}): {shown[status.mode]}")
    lines += [
        "",
        "Each lesson page shows the notebook with the outputs of a recorded run (`make record-lessons`); "
        "[Time and memory](resources.md) gives what each needs. To run them yourself: "
        "[Two commands on a fresh machine](guide/two-commands-on-a-fresh-machine.md), or open them in Colab from "
        "[the lesson table](guide/lessons.md). These pages are built by `make site` "
        "([how](guide/the-course-site.md)).",
        "",
    ]
    return "\n".join(lines)


# --- assembling and building --------------------------------------------------------------------------


def assemble(docs: Path = DOCS_BUILD) -> tuple[list, list[LessonPage]]:
    """Write every page into ``docs`` (emptied first); return the navigation and the lessons' status."""
    if docs.exists():
        shutil.rmtree(docs)
    (docs / "lessons").mkdir(parents=True)
    notebooks = lesson_notebooks()
    statuses = []
    lesson_nav = []
    for path in notebooks.values():
        nb, status = lesson_page(path)
        (docs / "lessons" / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        statuses.append(status)
        lesson_nav.append(f"lessons/{path.name}")

    extra = {"bench/RESULTS.md": "results.md"}
    shutil.copy(ROOT / "bench" / "RESULTS.md", docs / "results.md")
    teaching = []
    if (ROOT / "docs").is_dir():
        shutil.copytree(ROOT / "docs", docs / "docs")  # with their images; the Markdown is rewritten below
        for page in sorted((ROOT / "docs").rglob("*.md")):
            relative = page.relative_to(ROOT).as_posix()
            extra[relative] = relative
            text = page.read_text(encoding="utf-8")
            heading = re.search(r"(?m)^# (.+)$", text)
            teaching.append(GuidePage(heading.group(1) if heading else page.stem, relative, text, relative))

    names = {lesson: path.name for lesson, path in notebooks.items()}
    (docs / "resources.md").write_text(
        "# Time and memory per lesson\n\n"
        "Recorded runs of every lesson (`make record-lessons`: full mode, what these pages show; "
        "`make record-lessons-tiny`: tiny mode), on 2 CPU cores: wall time with the kernel's start, the peak "
        "resident memory of the kernel and every process it starts (summed), and the lesson's run folder on disk. "
        "A T4 runs the lessons in fp16, untimed; for the GPU recipes that lessons 03 and 04 scale up to, "
        "`rmr1 plan` estimates a T4's memory and time.\n\n" + course_table(load_resources(), names) + "\n",
        encoding="utf-8",
    )

    pages = readme_pages((ROOT / "README.md").read_text(encoding="utf-8"))
    pages[0].text += home_lessons(notebooks, statuses)
    for page in [*pages, *teaching]:
        target = docs / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rewrite_links(page, pages, [p.name for p in notebooks.values()], extra), encoding="utf-8")
    nav = [
        {"Home": "index.md"},
        {"Lessons": lesson_nav},
        {"Time and memory": "resources.md"},
        {"Guide": [{page.title: page.path} for page in pages[1:]]},
        *([{"Teaching": [{page.title: page.path} for page in teaching]}] if teaching else []),
        {"Recorded runs": "results.md"},
    ]
    return nav, statuses


def on_page_content(html: str, page, **_) -> str:
    """MkDocs hook: point a lesson's table of contents at its headings' real anchors.

    mkdocs-jupyter slugs its table of contents from the headings' text without their code spans
    (``#5-build-the-dataset-with``) while the page's headings keep them
    (``id="5-build-the-dataset-with-rmr1-prepare"``): the contents link nowhere. The entries and the
    headings come in the same order, so each entry takes the id of its heading.
    """
    ids = re.findall(r'<h[1-6][^>]*\sid="([^"]+)"', html)

    def entries(items):
        for item in items:
            yield item
            yield from entries(item.children)

    toc = list(entries(page.toc or []))
    if len(toc) == len(ids):
        for item, anchor in zip(toc, ids):
            item.id = anchor
    return html


def build(out: Path = SITE_BUILD, docs: Path = DOCS_BUILD) -> list[LessonPage]:
    """Assemble the pages and run ``mkdocs build --strict`` into ``out``; return the lessons' status.

    Raises:
        RMR1Error: MkDocs is not installed, or the build failed (its last lines).
    """
    import yaml

    try:
        import mkdocs  # noqa: F401
    except ImportError:
        raise RMR1Error("MkDocs is not installed: make setup-site (pip install -r requirements-site.txt)") from None
    nav, statuses = assemble(docs)
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config.update(docs_dir=str(docs.resolve()), site_dir=str(out.resolve()), nav=nav, hooks=[str(Path(__file__).resolve())])
    generated = docs.parent / "mkdocs.yml"
    generated.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(generated)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise RMR1Error(f"mkdocs build failed ({generated}):\n{tail}")
    return statuses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rmr1_utils.course_site", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SITE_BUILD, help="the site's folder (default build/site)")
    args = parser.parse_args(argv)
    try:
        statuses = build(args.out)
    except RMR1Error as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for status in statuses:
        state = f"outputs recorded in {status.mode} mode" if status.mode else "NOT RECORDED"
        gaps = f", {status.missing_outputs} code cells without their outputs" if status.missing_outputs else ""
        print(f"lesson {status.lesson}: {state}{gaps}")
    print(f"site written to {args.out} (open {args.out / 'index.html'}, or: python -m http.server -d {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
