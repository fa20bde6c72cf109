"""Experiment tracking: the CPU recipes log to TensorBoard (``report_to: tensorboard``), and
``rmr1_utils.plots`` reads the event files back — real short runs on the tiny random model."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import yaml

from rmr1_utils import distill, grpo
from rmr1_utils.distill import RECIPES_DIR as DISTILL_RECIPES
from rmr1_utils.grpo import RECIPES_DIR as GRPO_RECIPES
from rmr1_utils.plots import plot_tensorboard_scalars, read_tensorboard_scalars


@pytest.mark.parametrize("recipe", [DISTILL_RECIPES / "tiny-cpu.yaml", GRPO_RECIPES / "tiny-cpu.yaml"], ids=["distill", "grpo"])
def test_the_cpu_recipes_log_to_tensorboard(recipe):
    assert yaml.safe_load(recipe.read_text())["report_to"] == "tensorboard"


def test_a_distillation_writes_its_loss_to_event_files(tmp_path):
    out = tmp_path / "run"
    report = distill.main(["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out),
                           "--max_train_samples", "4", "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1",
                           "--max_steps", "2", "--disable_tqdm", "true"])  # fmt: skip
    assert list(out.glob("runs/*/events.out.tfevents.*"))  # transformers' default folder under output_dir
    scalars = read_tensorboard_scalars(out)
    logged = [(h["step"], h["loss"]) for h in report["log_history"] if "loss" in h]
    assert [step for step, _ in scalars["train/loss"]] == [1, 2]
    assert [value for _, value in scalars["train/loss"]] == pytest.approx([loss for _, loss in logged], rel=1e-6)
    assert "train/mean_token_accuracy" in scalars and "train/learning_rate" in scalars
    fig = plot_tensorboard_scalars(scalars, ("train/loss", "train/mean_token_accuracy", "not/logged"))
    assert [ax.get_title() for ax in fig.axes] == ["train/loss", "train/mean_token_accuracy"]


def test_a_grpo_step_writes_its_reward_to_event_files(tmp_path):
    out = tmp_path / "run"
    report = grpo.main(["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(out),
                        "--max_train_samples", "2", "--max_steps", "1", "--max_completion_length", "8",
                        "--disable_tqdm", "true"])  # fmt: skip
    scalars = read_tensorboard_scalars(out)
    logged = next(h for h in report["log_history"] if "reward" in h)
    assert scalars["train/reward"] == [(1, pytest.approx(logged["reward"]))]
    assert "train/completions/clipped_ratio" in scalars


def test_no_event_files_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="report_to: tensorboard"):
        read_tensorboard_scalars(tmp_path)
