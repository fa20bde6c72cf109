"""Every lesson executes top to bottom in tiny mode (``RMR1_TINY=1``), is committed clean, and states the recorded numbers."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from nbclient import NotebookClient

from rmr1_utils import lessons

from .conftest import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a lesson without code"
    assert all(not c.get("outputs") and not c.get("execution_count") for c in code), "strip outputs before committing"
    assert "widgets" not in nb.get("metadata", {}), "widget state in metadata"
    text = "".join("".join(c["source"]) for c in nb["cells"])
    assert "RMR1_TINY" in text and "## Summary" in text and "## Exercises" in text and "google.colab" in text


def test_the_lesson_list_names_every_notebook():
    """Lesson 00 lists the lessons from ``lessons.NOTEBOOKS``: an installed package has no notebooks/ to glob."""
    assert lessons.NOTEBOOKS == tuple(p.name for p in NOTEBOOKS)


@pytest.mark.lessons  # ~1-2 min a lesson: make test-lessons (CI runs it)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_tiny_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("RMR1_TINY", "1")
    monkeypatch.setenv("RMR1_RUNS", str(tmp_path / "runs"))  # lesson outputs go to a scratch folder
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_text_states_the_recorded_numbers(path):
    """No ``«NN:name»`` placeholder is left, and every number recorded for the lesson is written in its text."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    placeholders = re.findall(r"«[^»]*»", markdown + "\n" + code)
    assert not placeholders, f"placeholders left: {sorted(set(placeholders))}"
    lesson = path.name[:2]
    expected = lessons.load_expected()
    assert set(expected) <= {p.name[:2] for p in NOTEBOOKS}, "numbers recorded for a lesson that does not exist"
    recorded = expected.get(lesson, {})
    if f'check_expected("{lesson}"' in code:
        assert recorded, f"lesson {lesson} checks its numbers but none are recorded in {lessons.EXPECTED_FILE.name}"
    # a number counts as written only as a whole number: "0.82" is not found inside "10.825"
    missing = {
        name: record["shown"]
        for name, record in recorded.items()
        if not re.search(rf"(?<![\d.]){re.escape(record['shown'])}(?![\d])", markdown)
    }
    assert not missing, f"recorded numbers not in the lesson's text: {missing}"


# --- Colab as learners meet it ----------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_colab_install_cell_pins_the_notebooks_own_release(path):
    from rmr1_utils import __version__

    nb = json.loads(path.read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    (install,) = [c for c in code if "google.colab" in c]
    assert f'COURSE_RELEASE = "v{__version__}"' in install
    assert 'f"rmr1 @ git+{repo_url}@{ref}"' in install and 'os.environ.get("RMR1_REF", COURSE_RELEASE)' in install
    assert 'git+{repo_url}"' not in install  # never an unpinned install
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"colab.research.google.com/github/rmr1-course/rmr1/blob/v{__version__}/notebooks/{path.name}" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_one_mode_line_switches_the_lesson(path):
    """Each lesson has one ``MODE = ...`` line, handed to ``lessons.set_mode`` at once, and reads the mode
    nowhere else (no stray ``RMR1_TINY`` lookups): editing that line switches budgets, folder and checks."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert len(re.findall(r"^MODE = ", code, flags=re.M)) == 1
    assert re.search(r"^MODE = .*\nlessons\.set_mode\(MODE\)", code, flags=re.M)
    assert 'os.environ.get("RMR1_TINY")' not in code and "tiny_mode()" not in code
    first = "".join(nb["cells"][0]["source"])
    # The first cell names the runtime and the time to expect: in words (seconds-long lessons) or as the
    # recorded tiny-mode time of the time-and-memory table (`make record-lessons`).
    recorded = re.search(r"^\| tiny mode, CPU \| \d+ (min|s)\b", first, flags=re.M)
    assert "**Runtime:**" in first and ("minute" in first or "Seconds" in first or recorded), path.name


def test_set_mode_switches_the_run_folder_and_the_checks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RMR1_RUNS", str(tmp_path))
    monkeypatch.delenv("RMR1_TINY", raising=False)
    assert lessons.default_mode() == "full"
    lessons.set_mode("tiny")
    assert lessons.tiny_mode() and lessons.run_folder("lesson09") == tmp_path / "lesson09" / "tiny"
    assert lessons.check_expected("09", {"x": 1.0}) == {}  # tiny mode prints, never checks
    assert "tiny mode" in capsys.readouterr().out
    lessons.set_mode("full")
    assert not lessons.tiny_mode() and lessons.run_folder("lesson09") == tmp_path / "lesson09" / "full"
    with pytest.raises(lessons.RMR1Error, match="MODE must be 'tiny' or 'full'"):
        lessons.set_mode("medium")


def test_a_drift_is_explained_to_a_learner_and_fatal_in_strict_mode(tmp_path, monkeypatch, capsys):
    expected = {
        "09": {
            "acc": {"value": 0.80, "tolerance": 0.05, "shown": "0.80"},
            "loss": {"value": 2.0, "tolerance": 0.1, "shown": "2.00"},
        }
    }
    (tmp_path / "expected.json").write_text(json.dumps(expected), encoding="utf-8")
    monkeypatch.setattr(lessons, "EXPECTED_FILE", tmp_path / "expected.json")
    monkeypatch.setenv("RMR1_TINY", "0")
    monkeypatch.delenv("RMR1_RECORD", raising=False)
    monkeypatch.setenv("RMR1_STRICT_EXPECTED", "0")  # a learner's run
    report = lessons.check_expected("09", {"acc": 0.70, "loss": 2.05})
    out = capsys.readouterr().out
    assert report["acc"] == {"measured": 0.70, "expected": 0.80, "ok": False} and report["loss"]["ok"]
    assert re.search(r"^acc\s+0\.80\s+0\.70\s+-0\.10\s+0\.05\s+NO$", out, flags=re.M)  # recorded, obtained, difference, tolerance
    assert re.search(r"^loss\s+2\.00\s+2\.05\s+\+0\.05\s+0\.10\s+yes$", out, flags=re.M)
    assert "your numbers differ from the recorded run by up to 0.10 (acc: 0.70 against 0.80; 1 of 2" in out
    assert "which is expected on another CPU" in out
    assert lessons.check_expected("09", {"new": 1.0})["new"]["expected"] is None  # not recorded: said, not fatal
    assert "not recorded" in capsys.readouterr().out
    monkeypatch.setenv("RMR1_STRICT_EXPECTED", "1")  # CI, recording the site
    with pytest.raises(lessons.RMR1Error, match="acc differ from the recorded run beyond tolerance"):
        lessons.check_expected("09", {"acc": 0.70, "loss": 2.05})
    with pytest.raises(lessons.RMR1Error, match="no recorded value for 'new'"):
        lessons.check_expected("09", {"new": 1.0})
    assert lessons.check_expected("09", {"acc": 0.78, "loss": 2.0})["acc"]["ok"]
    assert "all 2 numbers within the tolerance" in capsys.readouterr().out


def test_an_earlier_lessons_output_is_found_or_explained(tmp_path, monkeypatch):
    monkeypatch.setenv("RMR1_RUNS", str(tmp_path))
    monkeypatch.setenv("RMR1_TINY", "0")
    with pytest.raises(lessons.RMR1Error, match="run lesson03 in full mode first.*Drive"):
        lessons.earlier_output("lesson03", "distill/final")
    (tmp_path / "lesson03" / "full" / "distill" / "final").mkdir(parents=True)
    assert lessons.earlier_output("lesson03", "distill/final") == tmp_path / "lesson03" / "full" / "distill" / "final"
