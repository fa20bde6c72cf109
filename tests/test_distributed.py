"""Past one machine: the accelerate configs load, and the distillation and GRPO entry points train
with 2 real processes on CPU (gloo), both ranks taking part.

``accelerate launch --cpu --num_processes 2`` would silently start one process; ``torchrun`` and
``accelerate launch --multi_gpu`` (what ``recipes/accelerate/ddp.yaml`` sets) start real ranks, and
the stages' CPU defaults (``use_cpu``) make them one gloo group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO_ROOT

ACCELERATE_CONFIGS = sorted((REPO_ROOT / "recipes" / "accelerate").glob("*.yaml"))
BIN = Path(sys.executable).parent


def _launch(launcher: list[str], stage: str, args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(
        [*launcher, "-m", "rmr1_utils", stage, *args], capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT
    )


@pytest.mark.parametrize("path", ACCELERATE_CONFIGS, ids=lambda p: p.stem)
def test_accelerate_configs_load(path):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(path))
    assert config.num_processes >= 2 and config.num_machines == 1
    assert {p.stem for p in ACCELERATE_CONFIGS} >= {"ddp", "deepspeed_zero3", "fsdp"}


@pytest.mark.slow  # two real ranks under torchrun: ~25 s
def test_distill_with_two_processes(tmp_path):
    out = tmp_path / "distill"
    launcher = [str(BIN / "accelerate"), "launch", "--config_file", str(REPO_ROOT / "recipes" / "accelerate" / "ddp.yaml"),
                "--num_processes", "2"]  # fmt: skip
    proc = _launch(launcher, "distill", [
        "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out),
        "--max_train_samples", "8", "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1",
        "--max_steps", "2",
    ])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "distill_report.json").read_text())
    assert report["ranks"] == [{"rank": 0, "steps": 2}, {"rank": 1, "steps": 2}]
    # 2 steps x 2 rows x 2 ranks = all 8 traces: each rank trained on its own half.
    assert [h for h in report["log_history"] if "train_runtime" in h][0]["epoch"] == pytest.approx(1.0)
    assert (out / "final" / "model.safetensors").exists()


@pytest.mark.slow  # ~18 s
def test_grpo_with_two_processes(tmp_path):
    out = tmp_path / "grpo"
    proc = _launch([str(BIN / "torchrun"), "--nproc_per_node", "2"], "grpo", [
        "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out),
        "--max_train_samples", "8", "--max_steps", "2", "--max_completion_length", "12",
    ])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "grpo_report.json").read_text())
    assert report["ranks"] == [{"rank": 0, "steps": 2}, {"rank": 1, "steps": 2}]
    # Each step: 8 rows per rank x 2 ranks = 4 groups of 4; 2 steps cover the 8 tasks once.
    assert [h for h in report["log_history"] if "train_runtime" in h][0]["epoch"] == pytest.approx(1.0)
    assert report["rollout"] == "group" and (out / "final" / "model.safetensors").exists()


# --- many processes on GPUs, tried on CPU: placement, sharding, the collective export ------------


@pytest.mark.slow  # two real ranks under torchrun: ~17 s
def test_quantized_model_goes_to_each_process_own_gpu(tmp_path):
    """Two real ranks: each would place a 4-bit model on the GPU of its LOCAL_RANK (not all on GPU 0),
    and loads one here on CPU. The ranks build the model cache at the same time in an empty cache
    folder: each writes it without transformers' rank-0-only saving, so neither publishes a folder
    without weights."""
    from rmr1_utils.models import EMBEDDED_DIRNAME, TINY_RANDOM_DIRNAME, embedded_model_path

    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    # The embedded model comes from the session's cache (its build takes a minute); tiny-random is built here, by both ranks.
    (cache / "models" / EMBEDDED_DIRNAME).symlink_to(embedded_model_path(), target_is_directory=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "RMR1_CACHE": str(cache)}
    proc = subprocess.run(
        [str(BIN / "torchrun"), "--nproc_per_node", "2", str(REPO_ROOT / "tests" / "placement_probe.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for record in ranks:
        assert record["cuda_map"] == {"": record["local_rank"]} and record["local_rank"] == record["rank"]
        assert record["explicit_map"] == {"": "cuda:1"}  # an explicit device wins
        assert record["loaded_on"] == "cpu" and record["layer"] == "Linear4bit"
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(record["own_cache_files"]), record
    built = cache / "models" / TINY_RANDOM_DIRNAME
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in built.iterdir()}
    assert not [p for p in (cache / "models").iterdir() if p.name.startswith(".")]  # no build folder left behind


def _launch_fsdp(stage: str, out: Path, args: list[str]) -> subprocess.CompletedProcess:
    """``accelerate launch`` with the shipped FSDP config, 2 processes on CPU (tests/fsdp_on_cpu.py)."""
    launcher = [str(BIN / "accelerate"), "launch", "--config_file", str(REPO_ROOT / "recipes" / "accelerate" / "fsdp.yaml"),
                "--num_processes", "2", "--mixed_precision", "no", str(REPO_ROOT / "tests" / "fsdp_on_cpu.py")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    common = ["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out), "--max_train_samples", "8",
              "--max_steps", "2", "--report_to", "none", "--share_prompt_prefix", "false"]  # fmt: skip
    return subprocess.run([*launcher, stage, *common, *args], capture_output=True, text=True, timeout=420, env=env, cwd=REPO_ROOT)


def _reloads_and_generates(export: Path, changed: bool) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from rmr1_utils.models import load_tokenizer, tiny_random_model_path

    model = AutoModelForCausalLM.from_pretrained(export)
    start = AutoModelForCausalLM.from_pretrained(tiny_random_model_path())
    trained = model.state_dict()
    assert set(trained) >= set(start.state_dict())
    if changed:  # (GRPO on a random model: every reward is -1, every advantage 0, nothing moves)
        assert any(not torch.equal(v, trained[k]) for k, v in start.state_dict().items()), "the export is the untrained model"
    ids = load_tokenizer(str(export))("Which is better?", return_tensors="pt").input_ids
    out = model.generate(ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 4


@pytest.mark.slow  # two real FSDP ranks under torchrun: ~35 s
def test_fsdp_distill_exports_from_every_rank(tmp_path):
    """FSDP (full state dict) shards the weights over the ranks: the export gathers them with every
    rank taking part and writes once. Before, the main process alone called the collective save and
    the run hung until killed."""
    out = tmp_path / "distill"
    proc = _launch_fsdp("distill", out, ["--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "distill_report.json").read_text())
    assert report["ranks"] == [{"rank": 0, "steps": 2}, {"rank": 1, "steps": 2}]
    _reloads_and_generates(out / "final", changed=True)


@pytest.mark.slow  # two real FSDP ranks under torchrun: ~35 s
def test_fsdp_grpo_samples_in_step_and_exports_from_every_rank(tmp_path):
    """GRPO under FSDP: the group sampler would decode a different number of steps on each rank
    (a hang in the parameter gathers), so TRL's generate keeps them in step; then the collective export."""
    out = tmp_path / "grpo"
    proc = _launch_fsdp("grpo", out, ["--max_completion_length", "12"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "group_rollout is off under FSDP" in proc.stderr
    report = json.loads((out / "grpo_report.json").read_text())
    assert report["ranks"] == [{"rank": 0, "steps": 2}, {"rank": 1, "steps": 2}] and report["rollout"] == "trl"
    _reloads_and_generates(out / "final", changed=False)
