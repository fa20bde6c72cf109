"""Installs anywhere: the wheel carries the code, the shipped judges and the bundled recipes and data,
and a non-editable install into a fresh virtual environment runs ``rmr1 prepare --recipe tiny-local``
and a one-step ``rmr1 distill --config tiny-cpu`` from an unrelated folder.

Nothing is downloaded: the wheel is built with this environment's setuptools (no build isolation),
installed with ``--no-deps --no-index``, and the fresh environment sees this environment's installed
dependencies through a ``.pth`` file. Only the wheel provides ``rmr1_utils`` there (this
environment's editable install is a finder that a ``.pth`` path entry does not run), which the tests
check. The editable install ``make setup`` makes is checked too: it finds the checkout's files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

#: What the build reads: the project's metadata and the folders it packages.
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "requirements.txt", "rmr1_utils", "recipes", "data", "notebooks")
JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def repo_files(folder: str) -> list[str]:
    """The checkout's files under ``folder``, as paths relative to the repository."""
    return sorted(
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / folder).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and ".ipynb_checkpoints" not in p.parts
    )


def clean_env(**extra: str) -> dict:
    """This environment minus anything that would put the checkout on the fresh environment's path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, **extra}


def run(cmd: list, cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def fresh_venv(folder: Path) -> Path:
    """A new virtual environment (no pip: this environment's pip installs into it) that sees this
    environment's installed packages; returns its python."""
    run([sys.executable, "-m", "venv", "--without-pip", folder], cwd=folder.parent)
    python = folder / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=folder).stdout.strip()
    here = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    (Path(purelib) / "_rmr1_test_deps.pth").write_text("".join(f"{p}\n" for p in here), encoding="utf-8")
    return python


def pip_install(python: Path, *args: str | Path, cwd: Path) -> None:
    """This environment's pip installs into the fresh one; --ignore-installed: never touch this environment's rmr1."""
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "--ignore-installed", "-q"]
    run([*pip, *args], cwd=cwd)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the build inputs: building never writes build/ or *.egg-info into the checkout."""
    src = tmp_path_factory.mktemp("src")
    for name in BUILD_INPUTS:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=JUNK)
        else:
            shutil.copy2(path, src / name)
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", source, "-w", out], cwd=out)
    (built,) = out.glob("rmr1-*.whl")
    return built


def test_the_wheel_holds_the_code_the_judges_and_the_bundled_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    code = repo_files("rmr1_utils")  # every module and subpackage (generation/…) and the shipped judges
    assert "rmr1_utils/generation/interface.py" in code and any(f.startswith("rmr1_utils/judges/") for f in code)
    assert not [f for f in code if f not in names], "missing from the wheel"
    bundled = repo_files("recipes") + repo_files("data") + ["notebooks/expected.json"]
    assert "recipes/data/tiny-local.yaml" in bundled and "data/raw/skywork_style.jsonl" in bundled
    assert not [f for f in bundled if f"rmr1_utils/bundled/{f}" not in names], "missing from the wheel"
    assert not [n for n in names if n.startswith("rmr1_utils/bundled/notebooks/") and not n.endswith("expected.json")]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert "rmr1 = rmr1_utils.cli:main" in entry_points


def test_a_non_editable_install_runs_from_any_folder(wheel, tmp_path):
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, wheel, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"  # no recipes/ or data/ here: everything comes from the package
    elsewhere.mkdir()

    where = run(
        [python, "-c", "import rmr1_utils; from rmr1_utils.resources import resolve_data_path as r; "
         "print(rmr1_utils.__file__); print(r('data/traces/cor_traces.jsonl'))"],
        cwd=elsewhere,
    ).stdout.split()  # fmt: skip
    venv = (tmp_path / "venv").resolve()
    assert Path(where[0]).resolve().is_relative_to(venv), f"rmr1_utils imported from {where[0]}, not from the wheel"
    assert Path(where[1]).is_relative_to(venv) and Path(where[1]).is_file()

    rmr1 = tmp_path / "venv" / "bin" / "rmr1"
    run([rmr1, "prepare", "--recipe", "tiny-local", "--out", "prepared", "--quiet"], cwd=elsewhere)
    summary = json.loads((elsewhere / "prepared" / "summary.json").read_text(encoding="utf-8"))
    sources = {s.split("/")[0] for counts in summary["by_source"].values() for s in counts}  # skywork/<subset>
    assert sources == {"skywork", "code-preference-pairs", "math-step-dpo", "ultrafeedback", "hh-rlhf", "synthetic-math"}
    assert (elsewhere / "prepared" / "train.jsonl").stat().st_size > 0 and (elsewhere / "prepared" / "test.jsonl").exists()

    run(
        [rmr1, "distill", "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", "run",
         "--max_train_samples", "4", "--per_device_train_batch_size", "2", "--max_steps", "1"],
        cwd=elsewhere,
    )  # fmt: skip
    report = json.loads((elsewhere / "run" / "distill_report.json").read_text(encoding="utf-8"))
    assert report["train_examples"] == 4  # the recipe's data/traces/cor_traces.jsonl, from the package
    export = elsewhere / "run" / "final"
    assert (export / "model.safetensors").is_file() and (export / "config.json").is_file()


def test_an_editable_install_finds_the_checkout_files(source, tmp_path):
    """``make setup`` installs the project editable: recipes and data are the checkout's, from any folder."""
    python = fresh_venv(tmp_path / "venv")
    pip_install(python, "--no-build-isolation", "-e", source, cwd=tmp_path)
    found = run(
        [python, "-c", "import rmr1_utils; from rmr1_utils.config_files import recipe_path; "
         "from rmr1_utils.resources import resolve_data_path as r; "
         "print(rmr1_utils.__file__); print(recipe_path('tiny-cpu', 'distill')); print(r('data/raw/skywork_style.jsonl'))"],
        cwd=tmp_path,
    ).stdout.split()  # fmt: skip
    assert [Path(p).resolve() for p in found] == [
        (source / "rmr1_utils" / "__init__.py").resolve(),
        (source / "recipes" / "distill" / "tiny-cpu.yaml").resolve(),
        (source / "data" / "raw" / "skywork_style.jsonl").resolve(),
    ]
