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
