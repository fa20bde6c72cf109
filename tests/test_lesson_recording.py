"""Recording the lessons (``make record-lessons``) and what the course site lays out from the recordings.

The recorded time and memory table is the one source of the lessons' first-cell tables and the
README's requirements (checked current here); every lesson has a recording of its current code;
the memory probe is checked against a process of known size; the site's assembly keeps outputs on
the code that made them and makes the README's links site links.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from rmr1_utils import course_site, lesson_recording
from rmr1_utils.errors import RMR1Error

from .conftest import REPO_ROOT


def test_the_memory_probe_sees_a_child_of_known_size():
    """A child process holding 300 MiB: the probe's peak covers it, and not much more (an interpreter)."""
    code = "import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1.5)"
    with lesson_recording.PeakMemory(interval=0.05) as memory:
        subprocess.run([sys.executable, "-c", code], check=True)
    assert 300 <= memory.peak / 2**20 <= 300 + 120


def test_recording_a_lesson_stores_its_outputs_and_measures_it(tmp_path, monkeypatch):
    monkeypatch.setattr(lesson_recording, "RECORDED_DIR", tmp_path / "recorded")
    monkeypatch.setattr(lesson_recording, "RESOURCES_FILE", tmp_path / "lesson_resources.json")
    for name in ("RMR1_TINY", "RMR1_WIDGETS", "RMR1_RUNS", "PYTHONPATH", "MPLBACKEND"):
        monkeypatch.setenv(name, "")  # restored after the test (record() sets them for the kernel)
    committed = (REPO_ROOT / "notebooks" / "00_overview.ipynb").read_bytes()
    start = time.monotonic()
    resources = lesson_recording.record(["00"], "tiny", tmp_path / "runs")
    elapsed = time.monotonic() - start
    entry = resources["lessons"]["00"]["tiny"]
    assert 0 < entry["seconds"] <= elapsed and entry["cores"] >= 1
    assert entry["peak_rss_mib"] > 30  # at least a Python kernel
    assert json.loads((tmp_path / "lesson_resources.json").read_text()) == resources
    stored = json.loads((tmp_path / "recorded" / "00_overview.ipynb").read_text())
    assert stored["metadata"]["rmr1_recording"]["mode"] == "tiny"
    outputs = [o for c in stored["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert outputs and not [o for o in outputs if o["output_type"] == "error"]
    assert str(REPO_ROOT) not in json.dumps(outputs)  # published outputs name no machine path
    assert (REPO_ROOT / "notebooks" / "00_overview.ipynb").read_bytes() == committed  # never the committed notebook

    # a tiny recording never replaces a full one
    stored["metadata"]["rmr1_recording"]["mode"] = "full"
    (tmp_path / "recorded" / "00_overview.ipynb").write_text(json.dumps(stored))
    lesson_recording.record(["00"], "tiny", tmp_path / "runs")
    assert lesson_recording.recorded_mode(tmp_path / "recorded" / "00_overview.ipynb") == "full"


def test_an_unknown_lesson_is_refused_with_one_line(capsys):
    assert lesson_recording.main(["--lessons", "99"]) == 2
    assert "--lessons: no notebook for 99" in capsys.readouterr().err


def test_the_first_cells_and_the_readme_show_the_recorded_table():
    """Each lesson's first cell and the README hold exactly the block the resources file gives."""
    resources = lesson_recording.load_resources()
    for lesson, path in lesson_recording.lesson_notebooks().items():
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        assert lesson_recording.lesson_table(lesson, resources) in first, (
            f"{path.name}: run python -m rmr1_utils.lesson_recording --update-text"
        )
    names = {lesson: path.name for lesson, path in lesson_recording.lesson_notebooks().items()}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert lesson_recording.requirements_text(resources, names) in readme


def test_the_t4_estimates_are_rmr1_plans():
    assert lesson_recording.load_resources()["t4_estimates"] == lesson_recording.t4_estimates()


def test_every_lesson_has_a_recording_of_its_current_code():
    """The site shows each lesson's recorded outputs: a lesson not recorded, or whose code changed since, is recorded again."""
    stale = {s.lesson: s for s in course_site.lesson_pages() if s.mode is None or s.missing_outputs}
    assert not stale, f'record these lessons again (make record-lessons LESSONS="{" ".join(stale)}"): {list(stale.values())}'


def test_recorded_outputs_stay_on_the_code_that_made_them():
    def cell(kind, source, outputs=None):
        return {
            "cell_type": kind,
            "source": source,
            **({"outputs": outputs or [], "execution_count": None} if kind == "code" else {}),
        }

    out = [{"output_type": "stream", "name": "stdout", "text": "3\n"}]
    bar = {"output_type": "display_data", "data": {course_site.WIDGET_VIEW: {}, "text/plain": "  0%|"}, "metadata": {}}
    recorded = {"cells": [cell("markdown", "# old text"), cell("code", "x = 1", []), cell("code", "print(x + 2)", [bar, *out])]}
    committed = {"cells": [cell("markdown", "# new text"), cell("markdown", "a new hint"), cell("code", "x = 1"),
                           cell("code", "print(x + 2)"), cell("code", "print('new')")]}  # fmt: skip
    nb, missing = course_site.lay_outputs(committed, recorded)
    assert [c["source"] for c in nb["cells"]][:2] == ["# new text", "a new hint"]  # the committed text
    assert nb["cells"][3]["outputs"] == out and nb["cells"][4]["outputs"] == [] and missing == 1
    assert committed["cells"][3]["outputs"] == []  # the committed notebook is not touched
    changed = {"cells": [cell("code", "x = 1"), cell("code", "print(x + 20)")]}
    assert course_site.lay_outputs(changed, recorded)[1] == 1  # an edited cell loses its outputs


def test_the_readme_becomes_guide_pages_with_site_links():
    readme = (
        "# Title\nSee [lesson 03](notebooks/03_distillation.ipynb) and [errors](#run-logs-resume-and-errors).\n"
        "## Lessons\nThe [results](bench/RESULTS.md), [formats](data/bench/FORMATS.md), [paper](https://arxiv.org/abs/1).\n"
        "## Run logs, resume and errors\n```bash\n# not a heading\n```\n"
    )
    pages = course_site.readme_pages(readme)
    assert [(p.title, p.path) for p in pages] == [
        ("Home", "index.md"),
        ("Lessons", "guide/lessons.md"),
        ("Run logs, resume and errors", "guide/run-logs-resume-and-errors.md"),
    ]
    lessons = ["03_distillation.ipynb"]
    extra = {"bench/RESULTS.md": "results.md"}
    home = course_site.rewrite_links(pages[0], pages, lessons, extra)
    assert "[lesson 03](lessons/03_distillation.ipynb)" in home
    assert "[errors](guide/run-logs-resume-and-errors.md#run-logs-resume-and-errors)" in home
    guide = course_site.rewrite_links(pages[1], pages, lessons, extra)
    assert "[results](../results.md)" in guide and "[paper](https://arxiv.org/abs/1)" in guide
    assert f"[formats]({course_site.BLOB_URL}/data/bench/FORMATS.md)" in guide
    with pytest.raises(RMR1Error, match="#nowhere, a heading that does not exist"):
        course_site.rewrite_links(course_site.GuidePage("Home", "index.md", "[x](#nowhere)"), pages, lessons, extra)

    # a page of docs/: its links start from docs/
    text = (
        "[l](../notebooks/03_distillation.ipynb) [r](../README.md#run-logs-resume-and-errors) "
        "[t](trouble.md#wsl) [c](../Makefile) [s](#here)"
    )
    page = course_site.GuidePage("Teaching", "docs/teaching.md", text, "docs/teaching.md")
    out = course_site.rewrite_links(page, pages, lessons, {**extra, "docs/trouble.md": "docs/trouble.md"})
    assert out == (
        "[l](../lessons/03_distillation.ipynb) [r](../guide/run-logs-resume-and-errors.md#run-logs-resume-and-errors) "
        f"[t](../docs/trouble.md#wsl) [c]({course_site.BLOB_URL}/Makefile) [s](#here)"
    )


@pytest.mark.parametrize(("seconds", "shown"), [(4.6, "5 s"), (125, "2 min 05 s"), (3720, "1 h 02 min")])
def test_times_are_written_for_people(seconds, shown):
    assert lesson_recording.format_seconds(seconds) == shown
