"""Shared fixtures: the reference format file, the real embedded model, a tiny random model, CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"

# A lesson's number off its record fails in the tests (a learner's run only reports it): lessons.check_expected.
os.environ.setdefault("RMR1_STRICT_EXPECTED", "1")


def reference_format_path() -> Path:
    """``shared/reference/rmr1_format.json`` beside the checkout (or ``$RMR1_REFERENCE_FORMAT``)."""
    return Path(os.environ.get("RMR1_REFERENCE_FORMAT") or REPO_ROOT.parent / "shared" / "reference" / "rmr1_format.json")


@pytest.fixture(scope="session")
def reference_format() -> dict:
    path = reference_format_path()
    if not path.exists():
        pytest.skip(f"reference format file not present at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def embedded():
    """The real SmolLM2-135M-Instruct (fp32, CPU), loaded once per session."""
    from rmr1_utils.models import load_model_and_tokenizer

    return load_model_and_tokenizer("embedded")


@pytest.fixture(scope="session")
def tiny():
    """A 2-layer random-weight Llama with the embedded tokenizer: fast, gibberish output."""
    from rmr1_utils.models import load_model_and_tokenizer

    return load_model_and_tokenizer("tiny-random")


def run_rmr1(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the ``rmr1`` console script of this environment as a real subprocess."""
    script = Path(sys.executable).parent / "rmr1"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "rmr1_utils"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, cwd=REPO_ROOT
    )


def rmr1_in_process(capsys, *args) -> tuple[int, str, str]:
    """``rmr1 ARGS`` in this process: exit code, stdout, stderr (a bad flag exits while parsing)."""
    from rmr1_utils.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
