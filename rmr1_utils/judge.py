"""Judging: run a ReasRM over preference pairs and parse what it says (``rmr1 judge``).

Each pair is shown with the chosen response at a seeded, per-group balanced position
(:func:`rmr1_utils.data.assign_positions`), or in both orders with ``both_orders=True`` — then we
also report *position consistency*: whether the two verdicts pick the same underlying response.
A verdict that names no side counts as wrong and as inconsistent.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rmr1_utils.data import assign_positions, check_unique_ids, load_pairs, pair_to_judge_task
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.formats import STYLES
from rmr1_utils.generation import BACKENDS, GenerationBackend, SamplingParams, backend_for
from rmr1_utils.judgement import VERDICT_RULES, parse_judgement, winner_to_letter
from rmr1_utils.runlog import RunLog, generate_into_log, model_identity
from rmr1_utils.stage import (
    add_endpoint_arguments,
    data_path,
    endpoint_options,
    http_url,
    non_negative_float,
    non_negative_int,
    output_file,
    parse_stage_args,
    positive_int,
    probability,
    stage_parser,
)


def judge(
    pairs: Sequence[dict],
    model: Any = "embedded",
    style: str = "instruct",
    both_orders: bool = False,
    backend: str | GenerationBackend = "auto",
    sampling: SamplingParams | None = None,
    seed: int = 0,
    verdict_rule: str = "rmr1-eval",
    batch_size: int = 8,
    progress: bool = True,
    backend_options: dict | None = None,
    out: str | Path | None = None,
    restart: bool = False,
    chunk_size: int | None = None,
) -> list[dict]:
    """Judge preference pairs with a ReasRM.

    With ``out``, every chunk of judgements is appended to that JSONL run log as soon as it is
    generated (:class:`~rmr1_utils.runlog.RunLog`): a killed run loses at most one chunk, and the
    same call resumes it — unless the log belongs to another run (other model, pairs or settings),
    which stops with one line.

    Args:
        pairs: preference pairs (see :mod:`rmr1_utils.data`); their ids must be unique.
        model: a model name/path for :func:`rmr1_utils.models.load_model_and_tokenizer`, or a
            ``(model, tokenizer)`` tuple; ignored when ``backend`` is a backend instance.
        style: prompt style, ``"instruct"`` or ``"reasoning"``.
        both_orders: judge every pair with the chosen response at A and at B.
        backend: ``"auto"`` (see :func:`rmr1_utils.generation.default_backend_name`), a backend
            name, or a ready :class:`GenerationBackend`.
        sampling: sampling parameters (default: greedy, 512 new tokens).
        seed: seed of the A/B placement.
        verdict_rule: name of the verdict rule (see :data:`rmr1_utils.judgement.VERDICT_RULES`).
        batch_size: prompts per generation batch.
        progress: show a progress bar.
        backend_options: options for a vllm/openai backend built by name (``base_url``…).
        out: the run log (JSONL) to append to and resume from; ``None`` keeps nothing.
        restart: set an existing ``out`` aside (``<out>.old-<n>``) and start afresh.
        chunk_size: comparisons generated and logged together (default: ``batch_size``).

    Returns:
        One record per judged comparison: ``key``, ``id``, ``source``, ``domain``, ``order`` (0 or
        1), ``sample`` (0 … n−1), ``better_position`` (where the chosen response was shown),
        ``winner``, ``completion``, ``verdict``, ``correct``, ``format_complete``, ``task_type``,
        ``finished``, ``num_tokens``, ``judgement`` (the parsed
        :class:`~rmr1_utils.judgement.Judgement` as a dict) and, with ``both_orders``,
        ``consistent``.

    Raises:
        DataError: two pairs with the same id.
        RunMismatchError: ``out`` holds another run's log (and ``restart`` is off).
    """
    import hashlib

    sampling = sampling or SamplingParams(max_new_tokens=512)
    check_unique_ids(((None, number, pair["id"]) for number, pair in enumerate(pairs, 1)), noun="pair")

    first_positions = assign_positions(pairs, seed=seed)
    tasks = []
    for pair, position in zip(pairs, first_positions):
        orders = [position, "B" if position == "A" else "A"] if both_orders else [position]
        for k, chosen_at in enumerate(orders):
            task = pair_to_judge_task(pair, chosen_at, style=style)
            tasks.append({"key": f"{pair['id']}#{k}", "pair": pair, "order": k, "task": task})
    fingerprint = hashlib.sha256(json.dumps(list(pairs), sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    identity = {
        "stage": "judge", "pairs": f"sha256:{fingerprint}",
        "model": model_identity(backend if not isinstance(backend, str) else model),
        "backend": backend if isinstance(backend, str) else backend.name, "sampling": sampling.to_dict(), "seed": seed,
        "style": style, "verdict_rule": verdict_rule, "both_orders": both_orders,
    }  # fmt: skip
    log = RunLog(out, identity, restart=restart)
    done_prompts = {key.rsplit("#", 1)[0] for key in log.keys}
    pending = [t for t in tasks if t["key"] not in done_prompts]
    if pending:
        options = backend_options or {}
        engine = backend_for(backend, model, len(pending), sampling.max_new_tokens, batch_size=batch_size, **options)

        def records_of(t: dict, completions: list) -> list[dict]:
            task, better = t["task"], winner_to_letter(t["task"]["winner"])
            records = []
            for number, completion in enumerate(completions):
                parsed = parse_judgement(completion.text, verdict_rule=verdict_rule)
                records.append(
                    {
                        "key": f"{t['key']}#{number}",
                        "id": t["pair"]["id"],
                        "source": task["source"],
                        "domain": task["domain"],
                        "order": t["order"],
                        "sample": number,
                        "better_position": better,
                        "winner": task["winner"],
                        "completion": completion.text,
                        "verdict": parsed.verdict,
                        "correct": parsed.verdict == better,
                        "format_complete": parsed.format_complete,
                        "task_type": parsed.task_type,
                        "finished": completion.finished,
                        "num_tokens": completion.num_tokens,
                        "judgement": parsed.to_dict(),
                    }
                )
            return records

        generate_into_log(
            engine, pending, lambda t: t["task"]["messages"], records_of, log, sampling,
            chunk_size=chunk_size or batch_size, progress=progress, desc="judge", total=len(tasks),
        )  # fmt: skip
    order = {t["key"]: k for k, t in enumerate(tasks)}
    records = sorted(log.records, key=lambda r: (order[r["key"].rsplit("#", 1)[0]], r["sample"]))
    if both_orders:
        mark_position_consistency(records)
    return records


def forced_choice_probabilities(
    model, tokenizer, conversations: Sequence[Sequence[dict]], answer_prefix: str = "<answer>[["
) -> list[float]:
    """P(verdict = A) when the judge is forced to answer right away: one forward pass per prompt.

    The generation prompt is followed by ``answer_prefix`` and the next-token probabilities of
    ``A`` and ``B`` are renormalised over the two. This skips the reasoning entirely, so it is
    not how a ReasRM should be used; it is a cheap probe of *position bias*: over pairs shown in
    both orders, an unbiased judge averages 0.5.

    Args:
        model: a causal LM.
        tokenizer: its tokenizer.
        conversations: judge prompts (chat messages).
        answer_prefix: text forced after the generation prompt.

    Returns:
        One probability per conversation.
    """
    import torch

    ids_a = tokenizer(answer_prefix + "A", add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(answer_prefix + "B", add_special_tokens=False)["input_ids"]
    prefix_ids = tokenizer(answer_prefix, add_special_tokens=False)["input_ids"]
    if ids_a[:-1] != prefix_ids or ids_b[:-1] != prefix_ids:
        raise ValueError(f"{answer_prefix!r} + 'A'/'B' does not end in one separate token for this tokenizer")
    token_a, token_b = ids_a[-1], ids_b[-1]
    device = next(model.parameters()).device
    probabilities = []
    model.eval()
    for conversation in conversations:
        text = tokenizer.apply_chat_template(list(conversation), tokenize=False, add_generation_prompt=True) + answer_prefix
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
        with torch.inference_mode():
            logits = model(input_ids=ids).logits[0, -1].float()
        pair = torch.softmax(logits[[token_a, token_b]], dim=0)
        probabilities.append(pair[0].item())
    return probabilities


def mark_position_consistency(records: Sequence[dict]) -> None:
    """Set ``consistent`` on every record of pairs judged in both orders (in place).

    A pair is consistent when both verdicts pick the same underlying response: both right, or
    both wrong with a verdict each. A missing verdict makes the pair inconsistent.
    """
    by_pair: dict[str, list[dict]] = {}
    for r in records:
        by_pair.setdefault(r["id"], []).append(r)
    for group in by_pair.values():
        picked = {r["correct"] for r in group if r["verdict"] is not None}
        consistent = len(picked) == 1 and all(r["verdict"] is not None for r in group)
        for r in group:
            r["consistent"] = consistent


def _decided_accuracy(records: Sequence[dict]) -> float:
    decided = [r for r in records if r["verdict"] is not None]
    return sum(r["correct"] for r in decided) / len(decided) if decided else float("nan")


def summarize(records: Sequence[dict]) -> dict:
    """Headline numbers of a judging run.

    Returns:
        ``n``, ``accuracy``, ``format_compliance``, ``verdict_rate``, ``decided_accuracy`` (accuracy on
        the judgements with a verdict; NaN without any), ``truncation_rate`` and, when
        both orders were judged, ``position_consistency`` (over pairs).
    """
    n = len(records)
    if n == 0:
        return {"n": 0}
    summary = {
        "n": n,
        "accuracy": sum(r["correct"] for r in records) / n,
        "format_compliance": sum(r["format_complete"] for r in records) / n,
        "verdict_rate": sum(r["verdict"] is not None for r in records) / n,
        "decided_accuracy": _decided_accuracy(records),
        "truncation_rate": sum(not r["finished"] for r in records) / n,
    }
    if any("consistent" in r for r in records):
        pairs = {r["id"]: r["consistent"] for r in records}
        summary["position_consistency"] = sum(pairs.values()) / len(pairs)
    return summary


def format_table(records: Sequence[dict]) -> str:
    """A compact text table of judgements: one line per comparison."""
    header = (
        f"{'id':<22} {'domain':<7} {'better':>6} {'verdict':>7} {'ok':>3} {'type':<9} {'rubric':>6} {'complete':>8} {'tokens':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in records:
        j = r["judgement"]
        lines.append(
            f"{str(r['id'])[:22]:<22} {r['domain']:<7} {r['better_position']:>6} {str(r['verdict']):>7} "
            f"{'✓' if r['correct'] else '✗':>3} {str(r['task_type']):<9} {len(j['rubric_items']):>6} "
            f"{'yes' if r['format_complete'] else 'no':>8} {r['num_tokens']:>6}"
        )
    return "\n".join(lines)


def make_parser(subparsers: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 judge`` (standalone when ``subparsers`` is None)."""
    description = "Judge preference pairs with a ReasRM and write parsed judgements as JSONL."
    parser = stage_parser(subparsers, "judge", description)
    parser.add_argument("--model", default="embedded", help="'embedded', 'tiny-random', a local folder or a Hub id")
    parser.add_argument("--data", type=data_path, required=True, help="JSONL file of preference pairs")
    parser.add_argument(
        "--out",
        type=output_file,
        help="run log of the judgements (JSONL, written as they come; rerun to resume); a summary goes next to it",
    )
    parser.add_argument("--restart", action="store_true", help="set an existing --out aside and start afresh")
    parser.add_argument("--style", choices=STYLES, default="instruct")
    parser.add_argument("--both-orders", action="store_true", help="judge each pair with the chosen response at A and at B")
    parser.add_argument(
        "--backend",
        choices=("auto", *BACKENDS),
        default="auto",
        help="auto: vLLM when installed and worth its start-up, else transformers",
    )
    parser.add_argument("--base-url", type=http_url, help="openai backend: server URL, e.g. http://127.0.0.1:8000/v1")
    add_endpoint_arguments(parser)
    parser.add_argument("--limit", type=positive_int, help="judge only the first N pairs")
    parser.add_argument("--max-new-tokens", type=positive_int, default=512)
    parser.add_argument("--temperature", type=non_negative_float, default=0.0, help="0 = greedy")
    parser.add_argument("--top-p", type=probability, default=1.0)
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the A/B placement and of sampling")
    parser.add_argument("--verdict-rule", choices=sorted(VERDICT_RULES), default="rmr1-eval")
    parser.add_argument("--show", type=non_negative_int, default=1, metavar="K", help="print the first K completions in full")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> list[dict]:
    """Entry point of ``rmr1 judge``.

    Args:
        args: parsed namespace, or an argv list (``None`` reads ``sys.argv``).

    Returns:
        The judgement records.
    """
    args = parse_stage_args(args, make_parser)
    if args.backend == "openai" and not args.base_url:
        raise RMR1Error("--backend openai needs --base-url (an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1)")
    pairs = load_pairs(args.data, limit=args.limit)
    if not pairs:
        raise DataError(f"{args.data}: no preference pairs to judge")
    sampling = SamplingParams(temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, seed=args.seed)
    records = judge(
        pairs,
        model=args.model,
        style=args.style,
        both_orders=args.both_orders,
        backend=args.backend,
        sampling=sampling,
        seed=args.seed,
        verdict_rule=args.verdict_rule,
        batch_size=args.batch_size,
        progress=not args.quiet,
        backend_options=(endpoint_options(args, args.base_url) if args.backend == "openai" else None),
        out=args.out,
        restart=args.restart,
    )
    summary = summarize(records)
    if args.out:
        Path(args.out).with_suffix(".summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not args.quiet:
        for r in records[: args.show]:
            print(f"\n===== completion for {r['id']} (better response shown as {r['better_position']}) =====")
            print(r["completion"])
        print()
        print(format_table(records))
        print()
        print("summary: " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()))
        if args.out:
            print(f"wrote {args.out}", file=sys.stderr)
    return records
