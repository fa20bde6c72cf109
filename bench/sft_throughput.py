"""P2: distillation (SFT) throughput — TRL ``SFTTrainer`` defaults versus our configuration, one run.

Both arms train the same model (default: the embedded SmolLM2-135M, full fine-tune, fp32) on the
same traces (the first ``steps × batch`` records of ``data/traces/cor_traces.jsonl``, i.e. exactly one
epoch, so both see every example once) for the same number of optimizer steps and batch size:

(a) baseline: TRL ``SFTTrainer`` + ``SFTConfig`` defaults, made CPU-safe the way ``rmr1 distill``
    does it (:func:`rmr1_utils.training.resolve_device_settings`: no bf16, no gradient checkpointing), with
    ``max_length`` raised to fit the data (TRL's default 1024 would cut every trace away) and the
    same per-device batch size (TRL's default 8 does not fit in 24 GiB at these lengths);
(b) ours: :class:`rmr1_utils.distill.DistillTrainer` + :class:`~rmr1_utils.distill.DistillConfig`
    as the recipes set it: shared-prompt prefill and length-grouped batches.

Reported per arm: wall time of ``trainer.train()``, tokens/s (real, non-padding tokens of the
examples trained on) and MFU = FLOPs actually computed / time / fp32 matmul peak. The peak is
measured in the same run (best of several 2048² fp32 matmuls). The FLOP count is the standard
dense-transformer one, applied to the tokens each arm really runs through the model (for ours the
shared prefix counts once per batch, so sharing cannot inflate the MFU):
3 × (2 · N_blocks · T_run + 2 · V · H · T_supervised + attention), attention = 2 · L · H · S²
per sequence (causal QKᵀ and AV), LM head only on supervised tokens (TRL's fused head).

The goal is ratio ≥ 1.5 and MFU ≥ 40 %. Last line: ``RESULT P2 ratio=<x> mfu=<y>`` (ours).

Usage::

    .venv/bin/python bench/sft_throughput.py                       # 4 steps × batch 4
    .venv/bin/python bench/sft_throughput.py --steps 6 --batch-size 4 --model embedded
"""

from __future__ import annotations

import argparse
import gc
import platform
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def matmul_peak_gflops(n: int = 2048, reps: int = 4, rounds: int = 3) -> float:
    """Best fp32 matmul rate (GFLOP/s) over a few rounds, on all threads torch uses."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - start) / 1e9)
    return best


def block_parameters(model) -> int:
    """Parameters of the matmuls every token goes through (decoder blocks; not embedding/LM head)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = base.model
    return sum(p.numel() for name, p in inner.layers.named_parameters() if p.dim() == 2)


def train_flops(
    config, n_blocks: int, seqs: list[int], supervised: int, prefix_saved: int, prefix_len_per_batch: list[int]
) -> float:
    """FLOPs of training on ``seqs`` (lengths), minus the prefix tokens computed only once."""
    h, layers, v = config.hidden_size, config.num_hidden_layers, config.vocab_size
    tokens_run = sum(seqs) - prefix_saved
    attention = sum(2 * layers * h * s * s for s in seqs)
    # Shared prefixes are attended by every row but their own self-attention runs once per batch.
    attention -= sum(2 * layers * h * p * p for p in prefix_len_per_batch)
    forward = 2 * n_blocks * tokens_run + 2 * v * h * supervised + attention
    return 3 * forward


def run_arm(name: str, model_name: str, data: str, steps: int, batch: int, max_length: int, seed: int) -> dict:
    from trl import SFTConfig, SFTTrainer

    from rmr1_utils.distill import DistillConfig, DistillTrainer, load_sft_dataset
    from rmr1_utils.models import load_model_and_tokenizer
    from rmr1_utils.training import resolve_device_settings

    torch.manual_seed(seed)
    model, tokenizer = load_model_and_tokenizer(model_name, device="cpu")
    dataset, dropped = load_sft_dataset(data, tokenizer, max_length, limit=steps * batch)
    out = tempfile.mkdtemp(prefix=f"p2-{name}-")
    common = dict(
        output_dir=out, per_device_train_batch_size=batch, max_steps=steps, max_length=max_length,
        logging_steps=1, save_strategy="no", report_to="none", seed=seed, use_cpu=True,
    )  # fmt: skip
    if name == "trl-defaults":
        args = SFTConfig(**common, bf16=False)
        args.gradient_checkpointing = None
        resolve_device_settings(args)  # the same CPU-safe rule rmr1 distill applies
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
    else:
        args = DistillConfig(**common, train_sampling_strategy="group_by_length", share_prompt_prefix=True)
        trainer = DistillTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)

    # Record every batch the trainer sees: real lengths, supervised tokens, shared prefix.
    seqs, supervised, prefixes = [], 0, []
    original = trainer.compute_loss

    def counting_compute_loss(model, inputs, *a, **k):
        nonlocal supervised
        mask = inputs["attention_mask"]
        seqs.extend(int(n) for n in mask.sum(dim=1))
        supervised += int((inputs["labels"][:, 1:] != -100).sum())
        before = getattr(trainer, "shared_prefix_tokens_saved", 0)
        loss = original(model, inputs, *a, **k)
        saved = getattr(trainer, "shared_prefix_tokens_saved", 0) - before
        prefixes.append(saved // max(1, mask.size(0) - 1))
        return loss

    trainer.compute_loss = counting_compute_loss
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    saved = getattr(trainer, "shared_prefix_tokens_saved", 0)
    flops = train_flops(model.config, block_parameters(model), seqs, supervised, saved, prefixes)
    report = {
        "arm": name, "seconds": seconds, "tokens": sum(seqs), "examples": len(seqs), "supervised": supervised,
        "prefix_tokens_saved": saved, "tokens_per_s": sum(seqs) / seconds, "gflops_per_s": flops / seconds / 1e9,
        "loss": result.training_loss, "dropped": dropped,
    }  # fmt: skip
    trainer.model = None  # free the weights before the next arm loads its own
    gc.collect()
    return report


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--data", default=str(REPO / "data" / "traces" / "cor_traces.jsonl"))
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=2560)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"torch threads={torch.get_num_threads()}, torch {torch.__version__}"
    )
    peak = matmul_peak_gflops()
    print(f"fp32 matmul peak (measured): {peak:.1f} GFLOP/s")
    reports = []
    for arm in ("trl-defaults", "ours"):
        r = run_arm(arm, args.model, args.data, args.steps, args.batch_size, args.max_length, args.seed)
        r["mfu"] = r["gflops_per_s"] / peak
        reports.append(r)
        print(
            f"{arm:>13}: {r['examples']} examples, {r['tokens']} tokens ({r['supervised']} supervised, "
            f"{r['prefix_tokens_saved']} prefix tokens shared) in {r['seconds']:.1f}s → "
            f"{r['tokens_per_s']:.1f} tok/s, {r['gflops_per_s']:.1f} GFLOP/s, MFU {r['mfu']:.1%}, loss {r['loss']:.4f}"
        )
    base, ours = reports
    if base["tokens"] != ours["tokens"]:
        raise SystemExit(f"the arms trained on different tokens ({base['tokens']} vs {ours['tokens']})")
    ratio = ours["tokens_per_s"] / base["tokens_per_s"]
    print(f"ratio (ours / TRL defaults, tokens/s): {ratio:.2f}  (goal ≥ 1.5); MFU ours {ours['mfu']:.1%} (goal ≥ 40%)")
    print(f"RESULT P2 ratio={ratio:.2f} mfu={ours['mfu']:.2f}")


if __name__ == "__main__":
    main()
