"""``rmr1 grpo``: recipes, the group rollout's sampling distribution, the shared-prompt loss
forward, and end-to-end runs on the tiny random model (full, LoRA, checkpoints, CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from trl import GRPOTrainer
from trl.trainer.utils import pad

from rmr1_utils.errors import RMR1Error
from rmr1_utils.grpo import (
    RECIPES_DIR,
    RMR1GRPOConfig,
    build_trainer,
    main,
    parse_args,
    prompt_groups,
)
from rmr1_utils.plan import assume_processes
from rmr1_utils.rollouts import SamplingSettings, group_advantages, sample_group_records, sample_groups

from .conftest import run_rmr1

RECIPES = sorted(RECIPES_DIR.glob("*.yaml"))


def tiny_args(tmp_path: Path, *extra: str) -> list[str]:
    """A tiny-cpu run on the 2-layer random model: seconds, not minutes."""
    return [
        "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(tmp_path / "run"),
        "--max_train_samples", "4", "--max_steps", "2", "--max_completion_length", "24", *extra,
    ]  # fmt: skip


def reward_token_count(completions, **kwargs):
    """A test reward that varies within a group: the share of 'e' characters (so advantages are non-zero)."""
    from rmr1_utils.rewards import completion_text

    return [completion_text(c).count("e") / max(1, len(completion_text(c))) for c in completions]


# --- recipes --------------------------------------------------------------------------------


def test_the_four_recipes_exist():
    assert {p.stem for p in RECIPES} >= {"tiny-cpu", "colab-t4", "single-gpu-24g", "multi-gpu"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_parses_with_the_real_parser(recipe):
    raw = yaml.safe_load(recipe.read_text())
    # TRL checks the batch arithmetic for the number of processes the recipe is launched with.
    with assume_processes(int((raw.get("env") or {}).get("RMR1_NUM_GPUS", 1))):
        script_args, training_args, model_args = parse_args(["--config", str(recipe)])
    for key, value in raw.items():
        if key in ("bf16", "fp16", "gradient_checkpointing", "env"):
            continue  # resolved for the device at hand
        holder = next(a for a in (script_args, training_args, model_args) if hasattr(a, key))
        got = getattr(holder, key)
        got = getattr(got, "value", got)  # enums (lr_scheduler_type, save_strategy…)
        if key == "report_to":
            value = [] if value == "none" else [value]  # transformers keeps a list of integrations
        assert got == value or str(got) == str(value), (key, got, value)
    assert model_args.model_name_or_path and script_args.dataset_path
    assert training_args.mask_truncated_completions is False  # the deliberate choice (module docstring)
    assert script_args.reward_funcs == ["rmr1_utils.rewards.rmr1_reward"]


def test_paper_settings_in_the_multi_gpu_recipe():
    raw = yaml.safe_load((RECIPES_DIR / "multi-gpu.yaml").read_text())
    gpus = int(raw["env"]["RMR1_NUM_GPUS"])
    assert gpus == 7  # the 8th GPU of the node serves vLLM
    with assume_processes(gpus):
        script_args, args, model_args = parse_args(["--config", "multi-gpu"])
    assert args.num_generations == 7 and args.learning_rate == 1e-6 and args.beta == 1e-3
    assert args.entropy_coef == 0.0 and args.temperature == 1.0 and args.lr_scheduler_type.value == "constant"
    assert args.use_vllm and args.vllm_mode == "server"
    assert script_args.max_prompt_length == 4096 and args.max_completion_length == 8192
    assert not model_args.use_peft
    # The paper: rollouts of 1024 prompts, updates of 128 prompts, 7 samples each.
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps * gpus == 128 * 7
    assert args.per_device_train_batch_size * args.steps_per_generation * gpus == 1024 * 7
    assert args.generation_batch_size == 1024 * 7  # as TRL derived it for 7 processes
    with pytest.raises(RMR1Error, match="divisible by num_generations"):  # launched on one process, TRL refuses it
        parse_args(["--config", "multi-gpu"])


def test_single_gpu_recipes_use_the_paper_algorithm_with_qlora():
    for name in ("colab-t4", "single-gpu-24g"):
        _, args, model_args = parse_args(["--config", name])
        assert model_args.load_in_4bit and model_args.use_peft
        assert args.num_generations == 7 and args.beta == 1e-3 and args.lr_scheduler_type.value == "constant"


def test_recipe_with_an_unknown_key_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((RECIPES_DIR / "tiny-cpu.yaml").read_text() + "\nnum_generation: 4\n")
    with pytest.raises(RMR1Error, match="num_generation"):
        parse_args(["--config", str(bad)])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU defaults")
def test_cpu_safe_defaults(tmp_path):
    args = RMR1GRPOConfig(output_dir=str(tmp_path))
    assert args.bf16 is False and args.gradient_checkpointing is False
    assert args.group_rollout and args.share_prompt_prefix and not args.mask_truncated_completions


# --- the group rollout samples TRL's distribution --------------------------------------------


def _prompts(tokenizer, n: int, max_tokens: int = 1400) -> list[list[int]]:
    from rmr1_utils.grpo import load_grpo_dataset

    dataset, _ = load_grpo_dataset("data/traces/cor_traces.jsonl", tokenizer, max_tokens, limit=n)
    return [
        tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
        for p in dataset["prompt"]
    ]


def _plain_logprobs(model, prompt: list[int], completion: list[int], temperature: float) -> torch.Tensor:
    """log_softmax(logits / T) of each completion token from one plain forward of prompt + completion."""
    ids = torch.tensor([prompt + completion])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt) - 1 : -1].float()
    return torch.log_softmax(logits / temperature, dim=-1).gather(1, torch.tensor(completion).unsqueeze(1)).squeeze(1)


def test_sampled_tokens_have_the_plain_forward_log_probs(tiny):
    """Fixed seed, tiny model: the log-probs our path reports for its sampled tokens equal those a
    plain forward of prompt + completion gives, row by row — including rows that finished early
    and left the batch, and groups that are not contiguous."""
    model, tokenizer = tiny
    model.eval()
    a, b, c = _prompts(tokenizer, 3)
    rows = [a, a, b, b, a, c, b]
    # Frequent tokens as EOS so rows finish at different steps and the batch shrinks.
    settings = SamplingSettings(max_new_tokens=20, temperature=0.7, top_k=200, top_p=0.95)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        probe = model(input_ids=torch.tensor([a])).logits[0, -1]
    eos = probe.topk(40).indices.tolist()
    with torch.no_grad():
        completions, logprobs = sample_groups(model, rows, settings, eos, generator=generator)
    lengths = [len(x) for x in completions]
    assert len(set(lengths)) > 1 and min(lengths) < 20, lengths  # some rows finished early
    for prompt, completion, reported in zip(rows, completions, logprobs):
        assert all(t not in eos for t in completion[:-1])
        assert completion[-1] in eos or len(completion) == 20
        torch.testing.assert_close(torch.tensor(reported), _plain_logprobs(model, prompt, completion, 0.7), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "settings",
    [
        SamplingSettings(max_new_tokens=16, temperature=1.0),
        SamplingSettings(max_new_tokens=16, temperature=0.6, top_k=50, top_p=0.9, min_p=0.01, repetition_penalty=1.3),
    ],
    ids=["plain", "all-processors"],
)
def test_same_seed_same_tokens_as_transformers_generate(tiny, settings):
    """With the global RNG seeded alike and no early stop, our sampler draws exactly the tokens
    ``model.generate`` (TRL's default rollout) draws: same logits, same processors, same order."""
    model, tokenizer = tiny
    model.eval()
    a, b = _prompts(tokenizer, 2)
    prompt_rows = [a, a, b, b]
    width = max(len(a), len(b))
    ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(p)) + p for p in prompt_rows])
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompt_rows])
    torch.manual_seed(123)
    with torch.no_grad():
        reference = model.generate(
            input_ids=ids, attention_mask=mask, do_sample=True, max_new_tokens=16, min_new_tokens=16,
            temperature=settings.temperature, top_k=settings.top_k, top_p=settings.top_p, min_p=settings.min_p,
            repetition_penalty=settings.repetition_penalty, pad_token_id=tokenizer.pad_token_id,
        )[:, width:].tolist()  # fmt: skip
    torch.manual_seed(123)
    with torch.no_grad():
        ours, _ = sample_groups(model, prompt_rows, settings, eos_token_ids=[-1], generator=None)
    assert ours == reference


def test_prompt_groups_group_by_content_not_position():
    ids = torch.tensor([[0, 1, 2, 9], [3, 1, 2, 8], [0, 1, 2, 7], [3, 1, 2, 7], [5, 1, 2, 7]])
    mask = torch.ones_like(ids)
    assert prompt_groups(ids, mask, 3) == [[0, 2], [1, 3], [4]]
    mask[2, 0] = 0  # same ids, different padding: not the same prompt
    assert prompt_groups(ids, mask, 3) == [[0], [1, 3], [2], [4]]


# --- the trainer: rollout log-probs and the shared-prompt loss forward ------------------------


def _trainer(tmp_path, *extra: str, **overrides):
    script_args, training_args, model_args = parse_args(tiny_args(tmp_path, *extra))
    for key, value in overrides.items():
        setattr(training_args, key, value)
    trainer, _ = build_trainer(script_args, training_args, model_args)
    return trainer


def _rollout_batch(trainer, n_prompts: int = 2):
    """One GRPO generation batch as TRL lays it out: each prompt repeated num_generations times."""
    g = trainer.args.num_generations
    prompts = [trainer.train_dataset[k]["prompt"] for k in range(n_prompts) for _ in range(g)]
    out = trainer.rollout_func(prompts, trainer)
    pad_id = trainer.processing_class.pad_token_id
    prompt_ids = pad([torch.tensor(x) for x in out["prompt_ids"]], padding_value=pad_id, padding_side="left")
    prompt_mask = pad([torch.ones(len(x), dtype=torch.long) for x in out["prompt_ids"]], padding_value=0, padding_side="left")
    completion_ids = pad([torch.tensor(x) for x in out["completion_ids"]], padding_value=pad_id, padding_side="right")
    completion_mask = pad(
        [torch.ones(len(x), dtype=torch.long) for x in out["completion_ids"]], padding_value=0, padding_side="right"
    )
    ids = torch.cat([prompt_ids, completion_ids], dim=1)
    mask = torch.cat([prompt_mask, completion_mask], dim=1)
    return out, ids, mask, completion_ids.size(1), completion_mask


def test_rollout_logprobs_match_the_trainers_own_computation(tmp_path):
    """The trainer recomputes the sampled tokens' log-probs with TRL's plain forward: they equal
    what the group rollout sampled with (so the importance ratio starts at exactly 1)."""
    trainer = _trainer(tmp_path, "--temperature", "0.8")
    out, ids, mask, keep, completion_mask = _rollout_batch(trainer)
    assert len(out["completion_ids"]) == 2 * trainer.args.num_generations
    assert len({tuple(x) for x in out["prompt_ids"]}) == 2
    with torch.no_grad():
        plain, _, _ = GRPOTrainer._get_per_token_logps_and_entropies(trainer, trainer.model, ids, mask, keep)
    sampled = pad([torch.tensor(x) for x in out["logprobs"]], padding_value=0.0, padding_side="right")
    torch.testing.assert_close(sampled * completion_mask, plain * completion_mask, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_shared_prompt_forward_gives_the_same_logps_entropies_and_gradients(tmp_path, lora):
    extra = ("--use_peft", "true", "--lora_r", "4", "--lora_dropout", "0.0") if lora else ()
    trainer = _trainer(tmp_path, *extra)
    _, ids, mask, keep, completion_mask = _rollout_batch(trainer)
    # TRL shuffles a generation batch before its micro-batches: the groups' rows are interleaved.
    shuffle = torch.randperm(ids.size(0), generator=torch.Generator().manual_seed(0))
    ids, mask, completion_mask = ids[shuffle], mask[shuffle], completion_mask[shuffle]
    model = trainer.model
    model.train()

    def run(shared: bool):
        model.zero_grad()
        trainer.args.share_prompt_prefix = shared
        logps, entropy, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, batch_size=4, compute_entropy=True)
        (logps * completion_mask).sum().backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        return logps.detach(), entropy.detach(), grads

    plain_logps, plain_entropy, plain_grads = run(False)
    before = trainer.shared_prefix_tokens_saved
    shared_logps, shared_entropy, shared_grads = run(True)
    assert trainer.shared_prefix_tokens_saved - before > 1000  # two groups, each prompt run once per chunk
    torch.testing.assert_close(shared_logps * completion_mask, plain_logps * completion_mask, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(shared_entropy * completion_mask, plain_entropy * completion_mask, rtol=1e-4, atol=1e-4)
    assert plain_grads.keys() == shared_grads.keys() and plain_grads
    for name in plain_grads:
        torch.testing.assert_close(shared_grads[name], plain_grads[name], rtol=1e-3, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")


def test_rollouts_are_seeded(tmp_path):
    a = _trainer(tmp_path / "a")
    b = _trainer(tmp_path / "b")
    first = _rollout_batch(a)[0]["completion_ids"]
    assert first == _rollout_batch(b)[0]["completion_ids"]  # same seed, same step, same call
    assert first != _rollout_batch(a)[0]["completion_ids"]  # the next call draws anew


def test_unsupported_generation_kwargs_fail_early(tmp_path):
    with pytest.raises(RMR1Error, match="no_repeat_ngram_size"):
        _trainer(tmp_path, "--generation_kwargs", '{"no_repeat_ngram_size": 3}')


# --- end to end -----------------------------------------------------------------------------


def test_grpo_trains_logs_truncation_and_exports(tmp_path):
    from rmr1_utils.models import load_model_and_tokenizer

    report = main(
        tiny_args(tmp_path, "--reward_funcs", "tests.test_grpo.reward_token_count", "--learning_rate", "1e-3", "--max_steps", "2")
    )
    steps = [h for h in report["log_history"] if "reward" in h]
    assert len(steps) == 2
    assert all(0.0 <= h["completions/clipped_ratio"] <= 1.0 for h in steps)
    assert report["summary"]["truncation_rate"] == pytest.approx(sum(h["completions/clipped_ratio"] for h in steps) / 2)
    assert any(h["grad_norm"] > 0 for h in steps)  # rewards vary within groups: there is a gradient
    assert report["rollout"] == "group"
    assert report["prefill_tokens"]["group"] * 3 < report["prefill_tokens"]["per_row"]  # 4 samples share each prefill
    export = Path(report["export_dir"])
    base, _ = load_model_and_tokenizer("tiny-random")
    trained, _ = load_model_and_tokenizer(str(export))
    changed = [n for n, p in trained.named_parameters() if not torch.allclose(p, base.state_dict()[n])]
    assert changed, "training must change the weights"
    saved = json.loads((tmp_path / "run" / "grpo_report.json").read_text())
    assert saved["summary"] == report["summary"]


def test_the_rmr1_reward_is_minus_one_for_a_random_model(tmp_path):
    """A random model never writes a verdict: every completion scores −1, advantages are zero."""
    report = main(tiny_args(tmp_path, "--max_steps", "1"))
    step = next(h for h in report["log_history"] if "reward" in h)
    assert step["reward"] == -1.0 and step["frac_reward_zero_std"] == 1.0 and step["grad_norm"] == 0.0


def test_lora_grpo_exports_a_merged_model(tmp_path):
    report = main(
        tiny_args(tmp_path, "--use_peft", "true", "--lora_r", "4", "--reward_funcs", "tests.test_grpo.reward_token_count")
    )
    export = Path(report["export_dir"])
    assert (export / "model.safetensors").exists() and not (export / "adapter_config.json").exists()
    assert report["trainable_parameters"] < 1_000_000


def test_checkpoints_and_resume(tmp_path):
    common = ("--reward_funcs", "tests.test_grpo.reward_token_count", "--save_strategy", "steps", "--save_steps", "1")
    first = main(tiny_args(tmp_path, *common))
    assert (tmp_path / "run" / "checkpoint-2").is_dir()
    resumed = main(tiny_args(tmp_path, *common, "--max_steps", "3", "--resume_from_checkpoint", "true"))
    logged = [h for h in resumed["log_history"] if "reward" in h]
    assert [h["step"] for h in logged] == [1, 2, 3]
    assert logged[:2] == [h for h in first["log_history"] if "reward" in h]  # restored, not retrained


def test_trl_default_rollout_still_available(tmp_path):
    report = main(tiny_args(tmp_path, "--group_rollout", "false", "--max_steps", "1"))
    assert report["rollout"] == "trl" and "prefill_tokens" not in report


@pytest.mark.slow  # ~55 s: rmr1 grpo as a real subprocess
def test_cli(tmp_path):
    proc = run_rmr1("grpo", *tiny_args(tmp_path, "--max_steps", "1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "final" / "config.json").exists()
    proc = run_rmr1("grpo", "--config", "tiny-cpu", "--num_generation", "3")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("rmr1 grpo: error:")
    proc = run_rmr1("grpo", "--config", "tiny-cpu", "--reward_funcs", "no.such.reward", "--model_name_or_path", "tiny-random",
                    "--output_dir", str(tmp_path / "x"))  # fmt: skip
    assert proc.returncode == 2 and "no.such.reward" in proc.stderr.strip().splitlines()[-1]


# --- what the lesson looks at: advantages and the rollout viewer ------------------------------


def test_group_advantages_by_hand():
    adv = group_advantages([1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0], 4)
    # mean −0.5; unbiased std of [1, −1, −1, −1] = sqrt((1.5² + 3 · 0.5²) / 3) = 1
    assert adv[:4] == pytest.approx([1.5 / (1.0 + 1e-4), -0.5 / (1.0 + 1e-4)] + [-0.5 / (1.0 + 1e-4)] * 2)
    assert adv[4:] == [0.0] * 4  # identical rewards: nothing to learn from this group
    assert group_advantages([1.0, 3.0], 2, scale=False) == [-1.0, 1.0]
    with pytest.raises(ValueError, match="groups of 3"):
        group_advantages([1.0, 2.0], 3)


def test_sample_group_records_and_the_rollout_viewer(tiny):
    from rmr1_utils.grpo import load_grpo_dataset
    from rmr1_utils.widgets import rollout_viewer

    model, tokenizer = tiny
    dataset, _ = load_grpo_dataset("data/traces/cor_traces.jsonl", tokenizer, 1200, limit=3)
    groups = sample_group_records(
        model, tokenizer, list(dataset), 3, SamplingSettings(max_new_tokens=6), seed=0, reward=reward_token_count
    )
    assert [g["id"] for g in groups] == dataset["id"] and all(len(g["samples"]) == 3 for g in groups)
    for g in groups:
        rewards = [s["reward"] for s in g["samples"]]
        assert sum(s["advantage"] for s in g["samples"]) == pytest.approx(0.0, abs=1e-6)
        assert rewards == reward_token_count([s["text"] for s in g["samples"]])
        assert all(s["tokens"] <= 6 for s in g["samples"])
    viewer = rollout_viewer(groups)
    assert len(viewer.filtered) == 3 and "3 of 3 groups" in viewer.status.value
    html = viewer.view.value
    assert "sample 3" in html and "advantage" in html and "label" in html
    viewer.mixed_only.value = True
    assert all(len({s["reward"] for s in g["samples"]}) > 1 for g in viewer.filtered)
    viewer.domain.value = groups[0]["domain"]
    assert all(g["domain"] == groups[0]["domain"] for g in viewer.filtered)


def test_qlora_with_a_vllm_server_is_refused_in_one_line(capsys):
    from .conftest import rmr1_in_process

    code, _, err = rmr1_in_process(
        capsys, "grpo", "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--load_in_4bit", "true",
        "--use_peft", "true", "--use_vllm", "true", "--vllm_mode", "server",
    )  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "vllm_mode: server cannot serve a 4/8-bit (QLoRA) model: use vllm_mode: colocate" in err


def test_quote_faithfulness_term_is_logged_and_weighted(tmp_path):
    """Judge tasks always log the fabricated-quote penalty as its own reward column; its weight is
    0 by default (the RM-R1 reward stays exact) and the recipe's ``quote_faithfulness_weight`` otherwise."""
    trainer, _ = build_trainer(*parse_args(tiny_args(tmp_path, "--max_steps", "1")))
    assert trainer.reward_func_names == ["rmr1_reward", "quote_faithfulness_penalty"]
    assert trainer.reward_weights.tolist() == [1.0, 0.0]
    report = main(tiny_args(tmp_path, "--max_steps", "1", "--quote_faithfulness_weight", "0.5"))
    step = next(h for h in report["log_history"] if "reward" in h)
    # A random model writes no quotes: no penalty, and the total is the verdict reward alone.
    assert step["rewards/quote_faithfulness_penalty/mean"] == 0.0 and step["reward"] == step["rewards/rmr1_reward/mean"] == -1.0
    with pytest.raises(RMR1Error, match="--quote_faithfulness_weight: must be >= 0, got -1"):
        parse_args(tiny_args(tmp_path, "--quote_faithfulness_weight", "-1"))
