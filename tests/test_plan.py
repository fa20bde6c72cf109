"""``rmr1 plan``: its parts checked against references — parameter counts against the models built on
the meta device, memory against the peak tensor memory measured on CPU — and every shipped GPU
recipe fitting the card it names."""

from __future__ import annotations

import json

import pytest

from rmr1_utils.config_files import RECIPES_ROOT, read_yaml_mapping
from rmr1_utils.plan import CARDS, estimate, plan_recipe, run_from_recipe
from rmr1_utils.plan_calibration import calibrate
from rmr1_utils.plan_model import config_file, load_architecture, shipped_architectures

from .conftest import rmr1_in_process

GPU_RECIPES = [
    (stage, path.stem)
    for stage in ("distill", "grpo")
    for path in sorted((RECIPES_ROOT / stage).glob("*.yaml"))
    if (read_yaml_mapping(path).get("env") or {}).get("RMR1_GPU")
]


def test_every_gpu_recipe_names_its_card():
    assert {name for _, name in GPU_RECIPES} == {"colab-t4", "single-gpu-24g", "multi-gpu"}
    assert len(GPU_RECIPES) == 6


@pytest.mark.parametrize("name", shipped_architectures())
def test_parameter_count_matches_the_model_built_from_its_config(name):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**json.loads(config_file(name).read_text()))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    arch = load_architecture(name)
    assert arch.parameters() == sum(p.numel() for p in model.parameters())
    linear = sum(p.numel() for n, p in model.named_parameters() if ".layers." in n and n.endswith("proj.weight"))
    assert arch.linear_parameters() == linear


def test_memory_estimates_match_measurement_on_cpu():
    """The activation + LM-head (training) and KV + sampling (rollout) estimates of the embedded model
    within 25 % of the peak tensor memory measured on CPU, at three (batch, length) settings
    (small ones here; bench/plan_calibration.py records the larger set: RESULT P7)."""
    rows = calibrate(((1, 64), (2, 128), (3, 96)))
    assert len(rows) == 6
    for row in rows:
        assert abs(row["relative_error"]) <= 0.25, row


@pytest.mark.parametrize("stage, recipe", GPU_RECIPES)
def test_every_gpu_recipe_fits_its_card(stage, recipe):
    rep = plan_recipe(stage, recipe)
    assert rep["fits"], (rep["peak_gib"], rep["usable_gib"], rep["problems"])
    assert rep["step_seconds"] > 0 and rep["card"] == CARDS[read_env(stage, recipe)["RMR1_GPU"]].name
    config = read_yaml_mapping(RECIPES_ROOT / stage / f"{recipe}.yaml")
    assert config.get("max_steps", 0) > 0, "every GPU recipe bounds its run"
    assert config.get("save_total_limit", 0) >= 1, "every GPU recipe bounds its checkpoints"


def read_env(stage: str, recipe: str) -> dict:
    return read_yaml_mapping(RECIPES_ROOT / stage / f"{recipe}.yaml")["env"]


def test_multi_gpu_grpo_batch_arithmetic_on_one_8_gpu_node():
    """7 training processes and 1 vLLM server: 8 GPUs. 896 rows = 128 prompts × 7 per update; a rollout
    of 1024 prompts (7168 rows) feeds 8 updates — the paper's batch, as TRL parses it for 7 processes."""
    env = read_env("grpo", "multi-gpu")
    processes = env["RMR1_NUM_GPUS"]
    run = run_from_recipe("grpo", ["--config", "multi-gpu"], CARDS["h100"].device(), processes, env["RMR1_SHARDING"])
    assert processes + 1 == 8 and run.vllm == "server"
    rows_per_update = processes * run.batch * run.accumulation
    assert rows_per_update == 896 and rows_per_update // run.generations_per_prompt == 128
    rollout_rows = processes * run.batch * run.steps_per_generation
    assert rollout_rows == 7168 and rollout_rows // run.generations_per_prompt == 1024
    assert run.steps_per_generation // run.accumulation == 8


def test_a_run_that_does_not_fit_gets_a_setting_to_lower_that_fits():
    # The 24 GB GRPO recipe as it was: 7 rows per micro-batch, 56 rollouts at once, 4096 + 2048 tokens.
    old = ["--use_vllm", "false", "--per_device_train_batch_size", "7", "--gradient_accumulation_steps", "8",
           "--steps_per_generation", "8", "--max_prompt_length", "4096", "--max_completion_length", "2048"]  # fmt: skip
    rep = plan_recipe("grpo", "single-gpu-24g", overrides=old)
    assert not rep["fits"] and rep["peak_gib"] > rep["usable_gib"]
    key, _, value = rep["advice"].removeprefix("lower ").partition(" to ")
    lowered = list(old)
    lowered[lowered.index(f"--{key}") + 1] = value
    assert plan_recipe("grpo", "single-gpu-24g", overrides=lowered)["fits"]


def test_vllm_share_too_small_for_its_weights_does_not_fit():
    rep = plan_recipe("grpo", "single-gpu-24g", overrides=["--vllm_gpu_memory_utilization", "0.15"])
    assert not rep["fits"] and "raise vllm_gpu_memory_utilization" in rep["problems"][0]


def test_gradient_checkpointing_and_quantization_change_the_estimate():
    t4 = CARDS["t4"]
    arch = load_architecture("Qwen/Qwen2.5-1.5B-Instruct")
    on = estimate(run_from_recipe("distill", ["--config", "colab-t4"], t4.device()), arch, t4)
    off = estimate(
        run_from_recipe("distill", ["--config", "colab-t4", "--gradient_checkpointing", "false"], t4.device()), arch, t4
    )
    full = estimate(
        run_from_recipe("distill", ["--config", "colab-t4", "--load_in_4bit", "false", "--use_peft", "false"], t4.device()),
        arch,
        t4,
    )
    assert off.parts["activations"] > 5 * on.parts["activations"]
    assert off.seconds["training"] < on.seconds["training"]  # no recomputation
    assert full.parts["weights"] > 3 * on.parts["weights"]  # fp32 weights for a full fine-tune on a T4 vs 4-bit


def test_plan_cli(capsys):
    code, out, _ = rmr1_in_process(capsys, "plan", "grpo", "--config", "colab-t4")
    assert code == 0 and "fits:" in out and "Tesla T4" in out and "seconds per optimizer step" in out
    code, out, _ = rmr1_in_process(capsys, "plan", "distill", "--config", "tiny-cpu", "--gpu-memory", "4", "--json")
    assert code == 0 and json.loads(out)["fits"] is False and json.loads(out)["advice"].startswith("lower ")
    code, _, err = rmr1_in_process(capsys, "plan", "grpo", "--config", "single-gpu-24g", "--gpu", "t4")
    assert code == 2 and "no native bf16" in err and len(err.strip().splitlines()) == 1
    code, _, err = rmr1_in_process(capsys, "plan", "distill", "--config", "tiny-cpu")
    assert code == 2 and "names no card" in err
    code, _, err = rmr1_in_process(capsys, "plan", "distill", "--config", "colab-t4", "--set", "max_length")
    assert code == 2 and "FIELD=VALUE" in err


def test_readme_hardware_table_is_the_plans():
    from rmr1_utils.plan import hardware_table

    from .conftest import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- rmr1 plan --table -->\n", 1)[1].split("\n<!-- /rmr1 plan --table -->", 1)[0]
    assert block == hardware_table(), "README's hardware table is stale: paste `rmr1 plan --table`"


def test_lesson_04_states_the_plans_time_for_the_t4_recipe():
    from .conftest import REPO_ROOT

    rep = plan_recipe("grpo", "colab-t4")
    text = (REPO_ROOT / "notebooks" / "04_grpo.ipynb").read_text(encoding="utf-8")
    hours = rep["max_steps"] * rep["step_seconds"] / 3600
    assert f"about {rep['step_seconds']:.0f} s per step" in text
    assert f"{rep['max_steps']} steps" in text and f"about {hours:.1f} hours" in text
