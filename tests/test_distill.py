"""``rmr1 distill``: recipes, supervised tokens, shared-prefix equivalence, CPU-safe defaults,
full / LoRA / QLoRA training with export, checkpoints and resume — on real (tiny) models and the
project's bundled traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from rmr1_utils import distill
from rmr1_utils.data import load_judge_tasks
from rmr1_utils.distill import (
    RECIPES_DIR,
    DistillConfig,
    DistillTrainer,
    load_sft_dataset,
    main,
    parse_args,
    shared_prefix_length,
)
from rmr1_utils.errors import RMR1Error
from rmr1_utils.training import resolve_device_settings

from .conftest import DATA_DIR, REPO_ROOT, run_rmr1

TRACES = DATA_DIR / "traces" / "cor_traces.jsonl"
RECIPES = sorted(RECIPES_DIR.glob("*.yaml"))


def tiny_args(tmp_path: Path, *extra: str) -> list[str]:
    """A tiny-cpu run on the 2-layer random model: seconds, not minutes."""
    return [
        "--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(tmp_path / "run"),
        "--max_train_samples", "4", "--per_device_train_batch_size", "2", "--max_steps", "2", *extra,
    ]  # fmt: skip


def trainer_for(model, tokenizer, tmp_path, n=3, **config):
    dataset, _ = load_sft_dataset(str(TRACES), tokenizer, 4096, limit=n)
    config.setdefault("max_length", 4096)
    args = DistillConfig(output_dir=str(tmp_path), per_device_train_batch_size=n, report_to="none", **config)
    return DistillTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


# --- recipes --------------------------------------------------------------------------------


def test_the_four_recipes_exist():
    assert {p.stem for p in RECIPES} >= {"tiny-cpu", "colab-t4", "single-gpu-24g", "multi-gpu"}


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_parses_with_the_real_parser(recipe):
    script_args, training_args, model_args = parse_args(["--config", str(recipe)])
    raw = yaml.safe_load(recipe.read_text())
    for key, value in raw.items():
        if key in ("bf16", "gradient_checkpointing", "env"):
            continue  # resolved for the device at hand
        holder = next(a for a in (script_args, training_args, model_args) if hasattr(a, key))
        got = getattr(holder, key)
        got = getattr(got, "value", got)  # enums (lr_scheduler_type, save_strategy…)
        if key == "report_to":
            value = [] if value == "none" else [value]  # transformers keeps a list of integrations
        assert got == value or str(got) == str(value), (key, got, value)
    assert model_args.model_name_or_path and training_args.max_length
    # Every recipe's data file ships with the repository or is produced by an earlier stage.
    assert script_args.dataset_path


def test_recipe_with_an_unknown_key_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((RECIPES_DIR / "tiny-cpu.yaml").read_text() + "\nlearning_rat: 1.0e-5\n")
    with pytest.raises(RMR1Error, match="learning_rat"):
        parse_args(["--config", str(bad)])


def test_paper_settings_in_the_multi_gpu_recipe():
    _, args, model_args = parse_args(["--config", "multi-gpu"])
    raw = yaml.safe_load((RECIPES_DIR / "multi-gpu.yaml").read_text())
    assert args.learning_rate == 5e-6 and args.num_train_epochs == 1 and args.max_length == 12288
    gpus = raw["env"]["RMR1_NUM_GPUS"] if "env" in raw else 8
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps * int(gpus) == 128
    assert not model_args.use_peft and not model_args.load_in_4bit
    accelerate = yaml.safe_load((REPO_ROOT / "recipes" / "accelerate" / "deepspeed_zero3.yaml").read_text())
    assert accelerate["deepspeed_config"]["zero_stage"] == 3 and accelerate["num_processes"] == int(gpus)


def test_qlora_recipes_load_in_4bit_with_lora():
    for name, model in (("colab-t4", "Qwen/Qwen2.5-1.5B-Instruct"), ("single-gpu-24g", "Qwen/Qwen2.5-7B-Instruct")):
        _, _, model_args = parse_args(["--config", name])
        assert model_args.model_name_or_path == model
        assert model_args.load_in_4bit and model_args.use_peft and model_args.bnb_4bit_quant_type == "nf4"


def test_overrides_beat_the_recipe():
    _, args, _ = parse_args(["--config", "tiny-cpu", "--learning_rate", "1e-3", "--max_steps", "3"])
    assert args.learning_rate == 1e-3 and args.max_steps == 3


# --- CPU-safe settings ----------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU defaults")
def test_cpu_safe_settings_are_automatic(tmp_path):
    args = DistillConfig(output_dir=str(tmp_path))
    assert args.bf16 is False and args.fp16 is False and args.gradient_checkpointing is False
    asked = DistillConfig(output_dir=str(tmp_path), gradient_checkpointing=True)
    assert asked.gradient_checkpointing is True  # explicit wins
    from trl import SFTConfig

    trl_default = SFTConfig(output_dir=str(tmp_path), bf16=False)
    assert trl_default.gradient_checkpointing is True  # what TRL would do on this CPU
    trl_default.gradient_checkpointing = None
    resolve_device_settings(trl_default)
    assert trl_default.gradient_checkpointing is False


# --- data and supervised tokens -------------------------------------------------------------


def test_only_the_assistant_trace_is_supervised(tiny, tmp_path):
    model, tokenizer = tiny
    trainer = trainer_for(model, tokenizer, tmp_path, n=3)
    batch = next(iter(trainer.get_train_dataloader()))
    traces = {t["trace"] for t in load_judge_tasks(TRACES, limit=3)}
    decoded = set()
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        supervised = ids[labels != -100]
        text = tokenizer.decode(supervised)
        # The trace, then the end of the turn as the chat template writes it — nothing of the prompt.
        assert text.endswith("<|im_end|>\n"), text[-30:]
        decoded.add(text[: -len("<|im_end|>\n")])
        first = int((labels != -100).nonzero()[0])
        prompt = tokenizer.decode(ids[:first])
        assert prompt.endswith("<|im_start|>assistant\n") and "[The End of Chatbot B's Response]" in prompt
        assert (labels[mask == 0] == -100).all()
    assert decoded == traces


def test_trace_without_assistant_message_is_a_clear_error(tmp_path, tiny):
    path = tmp_path / "tasks.jsonl"
    record = json.loads(TRACES.read_text().splitlines()[0])
    record["context_messages"] = record["context_messages"][:-1]
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(RMR1Error, match=r"tasks.jsonl: record 1 .*no assistant trace"):
        load_sft_dataset(str(path), tiny[1], 4096)


def test_too_long_traces_are_dropped_and_counted_not_truncated(tiny):
    tokenizer = tiny[1]
    lengths = [
        len(
            tokenizer.apply_chat_template(t["messages"] + [{"role": "assistant", "content": t["trace"]}], return_dict=True)[
                "input_ids"
            ]
        )
        for t in load_judge_tasks(TRACES, limit=6)
    ]
    cut = sorted(lengths)[3]
    dataset, dropped = load_sft_dataset(str(TRACES), tokenizer, cut, limit=6)
    assert dropped == sum(n > cut for n in lengths) and len(dataset) == 6 - dropped
    with pytest.raises(RMR1Error, match="no trace fits"):
        load_sft_dataset(str(TRACES), tokenizer, 100, limit=6)


# --- the shared-prefix trainer --------------------------------------------------------------


def test_shared_prefix_length_rules():
    ids = torch.tensor([[1, 2, 3, 4, 5, 6], [1, 2, 3, 9, 9, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]])
    labels = torch.full_like(ids, -100)
    labels[:, 5] = 7
    assert shared_prefix_length(ids, mask, labels) == 3
    labels[1, 2] = 3  # a row supervised from position 2 on: the prefix must stop before position 1
    assert shared_prefix_length(ids, mask, labels) == 1
    assert shared_prefix_length(ids, mask, labels, minimum=2) == 0
    assert shared_prefix_length(ids[:1], mask[:1], labels[:1]) == 0  # nothing to share with one row


def _loss_and_grads(trainer, batch, share: bool):
    model = trainer.model
    model.train()
    model.zero_grad()
    trainer.args.share_prompt_prefix = share
    loss = trainer.compute_loss(model, dict(batch))
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_shared_prefix_gives_the_same_loss_and_gradients(tmp_path, lora):
    from rmr1_utils.models import load_model_and_tokenizer

    torch.manual_seed(0)
    model, tokenizer = load_model_and_tokenizer(
        "tiny-random", lora={"r": 4, "lora_dropout": 0.0} if lora else None
    )  # dropout would differ run to run
    trainer = trainer_for(model, tokenizer, tmp_path, n=3)
    batch = next(iter(trainer.get_train_dataloader()))
    prefix = shared_prefix_length(batch["input_ids"], batch["attention_mask"], batch["labels"])
    assert prefix > 600  # the RM-R1 system prompt and the chat header
    plain_loss, plain = _loss_and_grads(trainer, batch, share=False)
    before = trainer.shared_prefix_tokens_saved
    shared_loss, shared = _loss_and_grads(trainer, batch, share=True)
    assert trainer.shared_prefix_tokens_saved - before == prefix * 2
    torch.testing.assert_close(shared_loss, plain_loss, rtol=1e-5, atol=1e-6)
    assert plain.keys() == shared.keys() and plain
    for name in plain:
        torch.testing.assert_close(shared[name], plain[name], rtol=1e-4, atol=1e-6, msg=lambda m, name=name: f"{name}: {m}")


def test_padding_free_is_correct_here(tmp_path, tiny):
    """TRL's padding-free batches (one packed row + position_ids) give the padded loss on this
    attention implementation, so the option is safe to use; sharing steps aside for it."""
    model, tokenizer = tiny
    padded = trainer_for(model, tokenizer, tmp_path / "a", n=3, share_prompt_prefix=False)
    packed = trainer_for(model, tokenizer, tmp_path / "b", n=3, padding_free=True, max_length=None)
    model.eval()
    with torch.no_grad():
        a = padded.compute_loss(model, next(iter(padded.get_train_dataloader())))
        batch = next(iter(packed.get_train_dataloader()))
        assert batch["input_ids"].size(0) == 1 and "attention_mask" not in batch
        b = packed.compute_loss(model, batch)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# --- end to end: train, export, load --------------------------------------------------------


def test_full_finetune_trains_exports_and_the_evaluator_loads_it(tmp_path):
    from rmr1_utils.evaluate import run_evaluation

    report = main(tiny_args(tmp_path, "--learning_rate", "1e-3"))
    export = Path(report["export_dir"])
    assert export == tmp_path / "run" / "final"
    assert (export / "config.json").exists() and (export / "model.safetensors").exists()
    assert (export / "tokenizer_config.json").exists()
    assert report["train_examples"] == 4 and report["dropped_too_long"] == 0
    losses = [h["loss"] for h in report["log_history"] if "loss" in h]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    assert json.loads((tmp_path / "run" / "distill_report.json").read_text())["train_examples"] == 4
    summary = run_evaluation(
        "rewardbench", DATA_DIR / "bench" / "rewardbench_sample.jsonl", tmp_path / "eval",
        model=str(export), backend="transformers", limit=2, max_new_tokens=4, progress=False,
    )  # fmt: skip
    assert summary["comparisons"] == 2


def test_training_lowers_the_loss_on_the_traces(tmp_path):
    report = main(tiny_args(tmp_path, "--max_steps", "6", "--learning_rate", "3e-3", "--max_train_samples", "2"))
    losses = [h["loss"] for h in report["log_history"] if "loss" in h]
    assert losses[-1] < losses[0] - 0.5 and losses[-1] == min(losses), losses


@pytest.mark.parametrize("quant", [[], ["--load_in_4bit", "true"]], ids=["lora", "qlora"])
def test_lora_and_qlora_export_a_merged_plain_model(tmp_path, quant):
    from safetensors.torch import load_file

    from rmr1_utils.models import load_model_and_tokenizer

    args = tiny_args(tmp_path, "--use_peft", "true", "--lora_r", "8", "--lora_alpha", "16", "--learning_rate", "1e-2", *quant)
    report = main(args)
    export = Path(report["export_dir"])
    assert not (export / "adapter_config.json").exists(), "the export must be a plain model"
    base, _ = load_model_and_tokenizer("tiny-random")
    total = sum(p.numel() for p in base.parameters())
    assert 0 < report["trainable_parameters"] < total * 0.5
    merged = load_file(export / "model.safetensors")
    changed = [k for k, v in base.state_dict().items() if k in merged and not torch.allclose(v, merged[k].float())]
    assert any("proj" in k for k in changed), "the LoRA update must be merged into the weights"
    model, _ = load_model_and_tokenizer(str(export))
    assert not hasattr(model, "peft_config")


def test_checkpoints_and_resume(tmp_path):
    first = main(tiny_args(tmp_path, "--save_strategy", "steps", "--save_steps", "1"))
    run = tmp_path / "run"
    assert (run / "checkpoint-2").is_dir()
    resumed = main(
        tiny_args(
            tmp_path, "--max_steps", "4", "--save_strategy", "steps", "--save_steps", "1", "--resume_from_checkpoint", "true"
        )
    )
    logged = [h for h in resumed["log_history"] if "loss" in h]
    assert [h["step"] for h in logged] == [1, 2, 3, 4]
    # Steps 1–2 come back from the checkpoint's state unchanged: they were not trained again.
    assert logged[:2] == [h for h in first["log_history"] if "loss" in h]
    assert (run / "checkpoint-4").is_dir() and first["export_dir"] == resumed["export_dir"]


def test_cli_errors_are_one_line(tmp_path):
    proc = run_rmr1("distill", "--config", "tiny-cpu", "--bogus_field", "1")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("rmr1 distill: error:")
    assert "--bogus_field" in proc.stderr
    proc = run_rmr1("distill", "--config", "no-such-recipe")
    assert proc.returncode == 2 and "bundled distill recipes: " in proc.stderr


def test_cli_trains_tiny(tmp_path):
    proc = run_rmr1("distill", *tiny_args(tmp_path, "--max_steps", "1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "final" / "model.safetensors").exists()


def test_both_orders_of_a_pair_share_every_batch():
    from rmr1_utils.training import pair_groups, pair_order_batches

    ids = [f"p{k}{suffix}" for k in range(10) for suffix in ("", "-swapped")] + ["hand-1", "hand-2", "hand-3"]
    lengths = [100 + (k % 7) for k in range(20)] + [900, 950, 1000]
    groups = pair_groups(ids)
    assert groups[0] == [0, 1] and groups[-1] == [22]
    order = pair_order_batches(groups, lengths, batch_size=4, seed=3)
    assert sorted(order) == list(range(len(ids))) and order == pair_order_batches(groups, lengths, 4, 3)
    assert order != pair_order_batches(groups, lengths, 4, 4)
    batches = [order[k : k + 4] for k in range(0, len(order), 4)]
    for batch in batches:
        names = [ids[i].removesuffix("-swapped") for i in batch]
        assert all(names.count(n) == 2 for n in names if n.startswith("p")), batch
    # the long hand-written traces share batches instead of padding short ones
    assert sum(any(ids[i].startswith("hand") for i in b) for b in batches) <= 2
    with pytest.raises(RMR1Error, match="even"):
        pair_order_batches(groups, lengths, batch_size=3, seed=0)


def test_supervised_positions_only_gives_the_same_loss_and_gradients(tiny):
    import torch
    from trl.trainer.utils import add_fused_lm_head

    from rmr1_utils.training import supervised_positions_only

    model, _ = tiny
    add_fused_lm_head(model)
    torch.manual_seed(0)
    ids = torch.randint(0, 1000, (2, 40))
    labels = ids.clone()
    labels[:, :25] = -100
    labels[1, 35:] = -100

    def run():
        model.zero_grad()
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True)
        out.loss.backward()
        return out.loss.item(), [p.grad.clone() for p in model.parameters() if p.grad is not None]

    loss, grads = run()
    with supervised_positions_only():
        compact_loss, compact_grads = run()
    assert compact_loss == loss
    assert all(torch.equal(a, b) for a, b in zip(grads, compact_grads))


def test_detached_prefix_same_loss_and_frozen_layers_get_no_gradient(tmp_path):
    import torch

    base = ["--max_steps", "1", "--max_train_samples", "4", "--per_device_train_batch_size", "4"]
    losses = {}
    for name, extra in (("plain", []), ("detached", ["--detach_shared_prefix", "true", "--freeze_layers_below", "1"])):
        script_args, training_args, model_args = distill.parse_args(
            ["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--output_dir", str(tmp_path / name), *base, *extra]
        )
        model, tokenizer = distill.load_trainable_model(model_args, training_args)
        dataset, _ = distill.load_sft_dataset(script_args.dataset_path, tokenizer, 4096, limit=4)
        trainer = distill.DistillTrainer(model=model, args=training_args, train_dataset=dataset, processing_class=tokenizer)
        batch = next(iter(trainer.get_train_dataloader()))
        model.zero_grad()
        loss = trainer.compute_loss(model, batch)
        loss.backward()
        losses[name] = loss.item()
        if name == "detached":
            frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
            assert any(".layers.0." in n for n in frozen) and any("embed" in n for n in frozen)
            assert all(p.grad is None for n, p in model.named_parameters() if ".layers.0." in n)
            assert all(p.grad is not None and torch.any(p.grad != 0) for n, p in model.named_parameters() if ".layers.1." in n)
    assert losses["detached"] == pytest.approx(losses["plain"], rel=1e-6)


def test_qlora_merge_runs_in_the_cards_half_precision(tmp_path):
    """The QLoRA export reloads the base for the merge in the run's precision — fp16 on a T4 (the card
    is assumed; with no GPU free here the merge runs in CPU memory), not fp32: half the RAM and disk."""
    from safetensors import safe_open

    from rmr1_utils.export import merge_adapter
    from rmr1_utils.precision import DeviceInfo, assume_device

    args = tiny_args(tmp_path, "--use_peft", "true", "--lora_r", "8", "--load_in_4bit", "true", "--dtype", "auto")
    report = main(args)
    adapter = Path(report["export_dir"] + "-adapter")
    assert (adapter / "adapter_config.json").exists()
    with safe_open(str(Path(report["export_dir"]) / "model.safetensors"), "pt") as f:  # this CPU run: fp32
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float32"}
    with assume_device(DeviceInfo("cuda", "Tesla T4", (7, 5), 15 << 30)):
        _, training_args, model_args = parse_args(args)  # the same run, configured on a T4
        merged = merge_adapter(model_args, training_args, adapter, tmp_path / "merged-t4")
    with safe_open(str(merged / "model.safetensors"), "pt") as f:
        assert {str(f.get_tensor(k).dtype) for k in f.keys()} == {"torch.float16"}
