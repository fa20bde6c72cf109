"""Installing the GPU extras never replaces the torch a machine already has (Colab's CUDA build, say).

Every vLLM release pins one torch (``torch==2.13.0`` for vLLM 0.28–0.31, ``2.11.0`` for 0.22), so a
plain ``pip install .[gpu]`` on a machine with another torch would download a different one over it.
``make setup-gpu`` constrains pip to the installed torch (``make torch-constraint``): pip then picks
the vLLM built for it, or stops. Checked with pip's own resolver against the package index, as dry
runs (nothing is installed): about 40 s each, so these run in ``make test-install`` (CI), not in the
default set.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from .conftest import REPO_ROOT

pytestmark = pytest.mark.install


def _dry_run(tmp_path, constraint: str, target: str) -> subprocess.CompletedProcess:
    (tmp_path / "constraint.txt").write_text(constraint + "\n")
    return subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(tmp_path / "report.json"),
         "-c", str(tmp_path / "constraint.txt"), target],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )  # fmt: skip


def _unreachable(proc) -> bool:
    return any(s in proc.stderr for s in ("Could not find a version that satisfies", "Network is unreachable", "ConnectionError"))


def test_the_gpu_extra_keeps_the_installed_torch(tmp_path):
    installed = torch.__version__.split("+")[0]
    proc = _dry_run(tmp_path, f"torch=={installed}", ".[gpu]")
    if proc.returncode and _unreachable(proc):
        pytest.skip("the package index is unreachable")
    assert proc.returncode == 0, proc.stderr[-2000:]
    plan = {
        i["metadata"]["name"]: i["metadata"]["version"] for i in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    assert "vllm" in plan and "torch" not in plan, plan  # vLLM chosen for this torch; torch left as it is


def test_a_torch_no_vllm_supports_stops_pip_instead_of_being_replaced(tmp_path):
    # A torch no vLLM in the extra's range is built for (as an older Colab runtime may have).
    proc = _dry_run(tmp_path, "torch==2.9.0", "vllm>=0.22,<0.32")
    if _unreachable(proc) and "ResolutionImpossible" not in proc.stderr:
        pytest.skip("the package index is unreachable")
    assert proc.returncode != 0 and "ResolutionImpossible" in proc.stderr
