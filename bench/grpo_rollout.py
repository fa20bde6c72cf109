"""P3: GRPO rollout phase — TRL's default generation versus our group rollout, one run.

Both arms run the rollout phase of one GRPO step inside the same ``GRPOTrainer`` (built by
``rmr1 grpo``'s own :func:`rmr1_utils.grpo.build_trainer` from a recipe), for the same prompts and
group size, with the same sampling settings and completion cap:

(a) baseline: TRL 1.16's default path without vLLM (``GRPOTrainer._generate`` with no
    ``rollout_func``): every row of the generation batch — each prompt repeated ``group size``
    times — is left-padded and prefilled by ``model.generate``, which then decodes all rows until
    the last one stops;
(b) ours: :class:`rmr1_utils.rollouts.GroupRollout` through the same ``_generate``: the prompts'
    common prefix (the RM-R1 system prompt) is prefilled once, each distinct prompt's remainder
    once, the KV cache is repeated for the group, and finished rows leave the batch.

The two arms sample different (seeded) streams from the same distribution (tested in
``tests/test_grpo.py``), so their completions differ; we report each arm's completion tokens and
time, and the ratio of wall times. Arms alternate over ``--repeats`` rounds (baseline first in odd
rounds, ours first in even ones) and the median of each arm is used.

Last line: ``RESULT P3 ratio=<baseline seconds / our seconds>`` (goal ≥ 2).

Usage::

    .venv/bin/python bench/grpo_rollout.py                                   # 2 prompts x 7, 256 tokens
    .venv/bin/python bench/grpo_rollout.py --prompts 4 --group-size 4 --max-completion-length 384
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent


def rollout_seconds(trainer, prompts, rollout) -> tuple[float, int, float]:
    """Time one rollout phase (``_generate``) with ``rollout`` (``None`` = TRL's default path).

    Returns:
        ``(seconds, completion tokens, share of rows cut at the length cap)``.
    """
    trainer.rollout_func = rollout
    start = time.perf_counter()
    _, completion_ids, *_ = trainer._generate(prompts)
    seconds = time.perf_counter() - start
    eos = set(trainer.eos_token_ids)
    clipped = sum(ids[-1] not in eos for ids in completion_ids) / len(completion_ids)
    return seconds, sum(len(ids) for ids in completion_ids), clipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--recipe", default="tiny-cpu")
    parser.add_argument("--prompts", type=int, default=2, help="distinct prompts in the generation batch")
    parser.add_argument("--group-size", type=int, default=7, help="samples per prompt (the paper: 7)")
    parser.add_argument("--max-completion-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from rmr1_utils.grpo import build_trainer, parse_args
    from rmr1_utils.rollouts import GroupRollout

    torch.manual_seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        script_args, training_args, model_args = parse_args([
            "--config", args.recipe, "--model_name_or_path", args.model, "--output_dir", tmp,
            "--num_generations", str(args.group_size), "--per_device_train_batch_size", str(args.prompts * args.group_size),
            "--max_completion_length", str(args.max_completion_length), "--max_train_samples", str(args.prompts),
            "--seed", str(args.seed),
        ])  # fmt: skip
        trainer, _ = build_trainer(script_args, training_args, model_args)
        prompts = [trainer.train_dataset[k]["prompt"] for k in range(args.prompts) for _ in range(args.group_size)]
        ours = GroupRollout(seed=args.seed, min_shared_prefix=training_args.min_shared_prefix)
        lengths = [len(trainer._tokenize_prompts([p])[0][0]) for p in prompts[:: args.group_size]]
        print(f"machine: {platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}")
        print(f"model {args.model}; {args.prompts} prompts x {args.group_size} samples; prompt tokens {lengths}; "
              f"max completion {args.max_completion_length}; temperature {training_args.temperature}")  # fmt: skip
        trainer.model.eval()
        results: dict[str, list] = {"baseline": [], "ours": []}
        for r in range(args.repeats):
            arms = [("baseline", None), ("ours", ours)]
            for name, rollout in arms if r % 2 == 0 else arms[::-1]:
                seconds, tokens, clipped = rollout_seconds(trainer, prompts, rollout)
                results[name].append((seconds, tokens, clipped))
                print(f"  round {r + 1} {name:<8} {seconds:7.1f} s  {tokens:5d} completion tokens  "
                      f"{tokens / seconds:6.1f} tok/s  clipped {clipped:.2f}")  # fmt: skip
    summary = {}
    for name, runs in results.items():
        seconds = statistics.median(s for s, _, _ in runs)
        tokens = statistics.median(t for _, t, _ in runs)
        summary[name] = seconds
        print(f"{name:<8} median {seconds:.1f} s, {tokens:.0f} completion tokens, {tokens / seconds:.1f} tok/s")
    per_call = ours.prefill_tokens // (ours.calls or 1)
    print(f"prompt tokens prefilled per rollout: baseline {sum(lengths) * args.group_size}, ours <= {per_call}")
    print(f"RESULT P3 ratio={summary['baseline'] / summary['ours']:.2f}")


if __name__ == "__main__":
    main()
