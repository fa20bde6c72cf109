"""``rmr1 evaluate``: judge a benchmark into a per-sample run log, then score it from the log alone.

Reading the benchmarks is :mod:`rmr1_utils.benchmarks` (and :mod:`rmr1_utils.benchmark_files`: the
seeded A/B order); the official scoring rules are :mod:`rmr1_utils.scoring`, and a summary with its
intervals and null baselines is :mod:`rmr1_utils.summary` (all re-exported here, as the lessons use
them); RewardBench 2's jobs and Ties formula are :mod:`rmr1_utils.rewardbench2` (judged here by
:func:`run_rewardbench2`); the log and its identity are :mod:`rmr1_utils.runlog`.

How we differ from RM-R1's harness: it judges RewardBench/RM-Bench/RMB in one random order and
does not run JudgeBench; we keep their order rule for the first three (seeded) and add JudgeBench's
both-order protocol, and every metric is recomputable from the log.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

# The evaluation API in one place (the lessons and tests use ``evaluate as ev``).
from rmr1_utils import rewardbench2
from rmr1_utils.benchmark_files import check_limit, in_both_orders, shown_position  # noqa: F401
from rmr1_utils.benchmarks import BENCHMARKS, NO_DOMAIN, REWARDBENCH_EXAMPLE_COUNTS, load_comparisons  # noqa: F401
from rmr1_utils.data import pair_to_judge_task
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.faithfulness import shown_responses
from rmr1_utils.generation import BACKENDS, SamplingParams, backend_for
from rmr1_utils.items import with_item_sizes
from rmr1_utils.judgement import VERDICT_RULES, parse_judgement
from rmr1_utils.runlog import RunLog, file_fingerprint, generate_into_log, model_identity, read_log  # noqa: F401
from rmr1_utils.scoring import (  # noqa: F401
    LOG_FIELDS,
    SCORERS,
    SCORING_RULES,
    accuracy_by_length_diff,
    compare_summaries,
    judge_quality,
    scoring_rule,
)
from rmr1_utils.stage import (
    add_endpoint_arguments,
    data_path,
    endpoint_options,
    http_url,
    non_negative_int,
    output_folder,
    parse_stage_args,
    positive_int,
    stage_parser,
)
from rmr1_utils.summary import format_scores, score, to_json, truncation_warning  # noqa: F401


def _check_unique_keys(comparisons: Sequence[dict], data) -> None:
    """Two comparisons with one key would share one log line: resume would lose one of them."""
    seen: dict[str, dict] = {}
    for c in comparisons:
        if c["key"] in seen:
            first = seen[c["key"]]
            where = [f"record {x['record']}" if "record" in x else f"id {x['id']!r}" for x in (first, c)]
            raise DataError(
                f"{data}: {where[0]} and {where[1]} give the same comparison key {c['key']!r}; "
                "ids must be unique within a benchmark (and domain)"
            )
        seen[c["key"]] = c


def run_evaluation(
    benchmark: str,
    data: str | Path,
    out: str | Path,
    model="embedded",
    backend="auto",
    limit: int | None = None,
    seed: int = 0,
    max_new_tokens: int = 512,
    style: str = "instruct",
    verdict_rule: str = "rmr1-eval",
    chunk_size: int = 8,
    progress: bool = True,
    both_orders: bool = False,
    restart: bool = False,
    rb2_mode: str = "pairwise",
    skip_ties: bool = False,
    scoring: str = "rmr1",
) -> dict:
    """Judge a benchmark, appending one log line per comparison as soon as its chunk is done.

    Restarting with the same ``out`` skips every comparison already in ``out/log.jsonl``, so an
    interrupted run resumes without duplicates and ends with the same metrics. The log records the
    run's identity (:class:`~rmr1_utils.runlog.RunLog`): a rerun with another model, backend,
    sampling, verdict rule, prompt style, seed or input file stops instead of mixing two runs.

    Args:
        benchmark: one of :data:`BENCHMARKS`.
        data: the benchmark input (a file, a folder or a Hub dataset; see :func:`load_comparisons`).
        out: output folder (``log.jsonl``, ``summary.json``).
        model: model name/path, or ``(model, tokenizer)``.
        backend: backend name or a ready :class:`~rmr1_utils.generation.GenerationBackend`.
        limit: only the first ``limit`` items.
        seed: seed of the shown order.
        max_new_tokens: generation cap.
        style: prompt style.
        verdict_rule: verdict rule name.
        chunk_size: comparisons generated (and logged) together.
        progress: show a progress bar.
        both_orders: judge every comparison with the better response at A and at B (adds
            ``position_consistency`` to the judge-quality metrics).
        restart: set an existing log aside (``log.jsonl.old-<n>``) and start afresh.
        rb2_mode, skip_ties: RewardBench 2 only: how its best-of-4 subsets are judged
            (``pairwise``, ``four-way``, ``ratings``) and whether Ties is left out; see
            :func:`run_rewardbench2`, which judges it.
        scoring: ``rmr1`` or ``official`` (:data:`rmr1_utils.scoring.SCORING_RULES`): how the log is
            scored. Not part of the run's identity: the log is the same, and ``rmr1 score --scoring``
            rescores it either way.

    Returns:
        The summary (also written to ``out/summary.json`` as strict JSON), with ``skipped`` (count,
        reasons, the first such record) when records had nothing to judge (HelpSteer3's ties). When judgements were
        cut at ``max_new_tokens`` before a verdict, a warning with the truncation rate is printed
        to stderr (see :func:`truncation_warning`).

    Raises:
        RunMismatchError: ``out`` holds another run's log (and ``restart`` is off).
        DataError: a bad input file, or two comparisons with the same key.
    """
    if benchmark == "rewardbench2":  # best of 4, four-way and rating jobs, Ties: its own module
        return run_rewardbench2(data, out, model=model, backend=backend, limit=limit, seed=seed, max_new_tokens=max_new_tokens,
                                style=style, verdict_rule=verdict_rule, chunk_size=chunk_size, progress=progress,
                                both_orders=both_orders, restart=restart, mode=rb2_mode, skip_ties=skip_ties,
                                scoring=scoring)  # fmt: skip
    scoring_rule(benchmark, scoring)  # a bad rule stops before any judging
    out = Path(out)
    skipped: list[tuple[str, str]] = []
    comparisons = load_comparisons(benchmark, data, limit, skipped=skipped)
    if not comparisons:
        raise DataError(f"{data}: no {benchmark} items to judge")
    if both_orders:
        comparisons = in_both_orders(comparisons, seed)
    _check_unique_keys(comparisons, data)
    comparisons = with_item_sizes(comparisons)  # each line says how many its item has: a part-judged item is never scored
    identity = {
        "stage": "evaluate", "benchmark": benchmark, "data": file_fingerprint(data),
        "model": model_identity(backend if not isinstance(backend, str) else model),
        "backend": backend if isinstance(backend, str) else backend.name,
        "max_new_tokens": max_new_tokens, "seed": seed, "style": style, "verdict_rule": verdict_rule,
        "both_orders": both_orders,
    }  # fmt: skip
    log = RunLog(out / "log.jsonl", identity, restart=restart)
    pending = log.pending(comparisons)
    if pending:
        sampling = SamplingParams(max_new_tokens=max_new_tokens, seed=seed)
        engine = backend_for(backend, model, len(pending), max_new_tokens)

        def records_of(c: dict, completions: list) -> list[dict]:
            text = completions[0].text
            parsed = parse_judgement(text, verdict_rule=verdict_rule)
            better = shown_position(c, seed)
            return [{
                "key": c["key"], "id": c["id"], "benchmark": benchmark, "subset": c.get("subset"),
                "domain": c.get("domain"), "cell": c.get("cell"), "order": c.get("order", 0),
                "better_position": better, "completion": text, "verdict": parsed.verdict,
                "correct": parsed.verdict == better, "format_complete": parsed.format_complete,
                "finished": completions[0].finished,
                "length_diff": len(c["pair"]["chosen"]) - len(c["pair"]["rejected"]), "item_size": c["item_size"],
                **shown_responses(c["pair"], better),  # what the judge's quotes are checked against
            }]  # fmt: skip

        generate_into_log(
            engine, pending, lambda c: pair_to_judge_task(c["pair"], shown_position(c, seed), style=style)["messages"],
            records_of, log, sampling, chunk_size=chunk_size, progress=progress, desc=f"evaluate {benchmark}",
            total=len(comparisons),
        )  # fmt: skip
    log = log.records
    order = {c["key"]: k for k, c in enumerate(comparisons)}
    log = sorted((r for r in log if r["key"] in order), key=lambda r: order[r["key"]])
    summary = {
        **score(benchmark, log, scoring=scoring),
        "data": str(data),
        "seed": seed,
        "max_new_tokens": max_new_tokens,
        "comparisons": len(log),
    }
    if skipped:  # records with nothing to judge (HelpSteer3's ties): not in the log, so only the summary knows
        reasons: dict[str, int] = {}
        for _, reason in skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        summary["skipped"] = {"count": len(skipped), "reasons": reasons, "first": skipped[0][0]}
    (out / "summary.json").write_text(to_json(summary) + "\n", encoding="utf-8")
    warning = truncation_warning(summary)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    return summary


def make_parser(subparsers=None):
    """Parser of ``rmr1 evaluate``."""
    parser = stage_parser(
        subparsers,
        "evaluate",
        "Evaluate a judge on RewardBench 1 and 2, RM-Bench, RMB, JudgeBench or HelpSteer3 (resumable per-sample log).",
    )
    parser.add_argument("--benchmark", choices=BENCHMARKS, required=True)
    parser.add_argument(
        "--data",
        type=data_path,
        required=True,
        help="the benchmark file in its own format (.jsonl/.json/.parquet); RM-Bench: also an official per-domain file "
        "(chat_filtered.json…) or a folder of them; RMB: also a folder of the official Pairwise_set/BoN_set tree; "
        "or a Hub dataset (allenai/reward-bench, nvidia/HelpSteer3, NAME@SPLIT)",
    )
    parser.add_argument("--model", default="embedded")
    parser.add_argument(
        "--out", type=output_folder, required=True, help="output folder: log.jsonl (resumed if present) and summary.json"
    )
    parser.add_argument("--limit", type=positive_int, help="only the first N items")
    parser.add_argument("--backend", choices=("auto", *BACKENDS), default="auto", help="openai: --model served at --base-url")
    parser.add_argument("--base-url", type=http_url, help="openai backend: server URL, e.g. http://127.0.0.1:8000/v1")
    add_endpoint_arguments(parser)
    parser.add_argument(
        "--max-new-tokens",
        type=positive_int,
        default=512,
        help="generation cap; a judgement cut here has no verdict and counts as wrong (RM-R1 checkpoints write long "
        "rubrics: a warning reports the truncation rate)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the shown A/B order")
    parser.add_argument("--style", choices=("instruct", "reasoning"), default="instruct")
    parser.add_argument("--verdict-rule", choices=sorted(VERDICT_RULES), default="rmr1-eval")
    parser.add_argument("--chunk-size", type=positive_int, default=8, help="comparisons generated and logged together")
    parser.add_argument("--both-orders", action="store_true", help="judge each comparison with the better response at A and at B")
    parser.add_argument("--restart", action="store_true", help="set an existing log in --out aside and start afresh")
    parser.add_argument("--rb2-mode", choices=rewardbench2.MODES,
                        help="rewardbench2: judge the best-of-4 subsets pairwise (default), four-way or by ratings; Ties is "
                        "always rated")  # fmt: skip
    parser.add_argument("--skip-ties", action="store_true", help="rewardbench2: leave Ties out (a five-subset mean)")
    parser.add_argument("--scoring", choices=SCORING_RULES, default="rmr1",
                        help="rmr1: RM-R1's published rules (default); official: each benchmark's own generative scorer "
                        "(they differ on rewardbench, helpsteer3 and rewardbench2's four-way parse; rmr1 score --scoring "
                        "rescores a log either way)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(args=None) -> dict:
    """Entry point of ``rmr1 evaluate``."""
    args = parse_stage_args(args, make_parser)
    backend = args.backend
    if args.base_url:
        if backend not in ("auto", "openai"):
            raise RMR1Error(f"--base-url is for --backend openai, not --backend {backend}")
        # Built here, not from its name inside run_evaluation, so the endpoint flags reach it; no
        # connection is made until the first request.
        backend = backend_for("openai", args.model, **endpoint_options(args, args.base_url))
    elif backend == "openai":
        raise RMR1Error("--backend openai needs --base-url (an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1)")
    if args.benchmark != "rewardbench2" and (args.rb2_mode or args.skip_ties):
        raise RMR1Error("--rb2-mode and --skip-ties are for --benchmark rewardbench2")
    summary = run_evaluation(
        args.benchmark, args.data, args.out, model=args.model, backend=backend, limit=args.limit, seed=args.seed,
        max_new_tokens=args.max_new_tokens, style=args.style, verdict_rule=args.verdict_rule, chunk_size=args.chunk_size,
        progress=not args.quiet, both_orders=args.both_orders, restart=args.restart, rb2_mode=args.rb2_mode or "pairwise",
        skip_ties=args.skip_ties, scoring=args.scoring,
    )  # fmt: skip
    if not args.quiet:
        print(format_scores(summary))
    return summary


def run_rewardbench2(
    data: str | Path, out: str | Path, model="embedded", backend="auto", limit: int | None = None, seed: int = 0,
    max_new_tokens: int = 512, style: str = "instruct", verdict_rule: str = "rmr1-eval", chunk_size: int = 8,
    progress: bool = True, both_orders: bool = False, restart: bool = False, mode: str = "pairwise",
    skip_ties: bool = False, scoring: str = "rmr1",
) -> dict:  # fmt: skip
    """Judge RewardBench 2 into a resumable per-sample log and score it (``run_evaluation`` hands it here).

    Every job of every kind goes through the one judging loop
    (:func:`~rmr1_utils.runlog.generate_into_log`) into ``out/log.jsonl``, whose identity holds the
    mode: resuming with another mode stops instead of mixing two runs.

    Args:
        data: the benchmark input (:func:`~rmr1_utils.rewardbench2.load_rewardbench2`).
        out: output folder (``log.jsonl``, ``summary.json``).
        model, backend, limit, seed, max_new_tokens, style, verdict_rule, chunk_size, progress,
            both_orders, restart, scoring: as :func:`~rmr1_utils.evaluate.run_evaluation`.
        mode: ``pairwise``, ``four-way`` or ``ratings`` (the best-of-4 subsets; Ties is always rated).
        skip_ties: do not judge the Ties items (the score is then the five-subset mean).

    Returns:
        The summary (:func:`~rmr1_utils.rewardbench2.score_rewardbench2` and the judge-quality rates), also in
        ``out/summary.json``.

    Raises:
        DataError: a bad input, or nothing to judge. RMR1Error: a bad mode or flag combination.
        RunMismatchError: ``out`` holds another run's log.
    """
    scoring_rule(rewardbench2.BENCHMARK, scoring)
    out = Path(out)
    jobs = rewardbench2.judging_jobs(rewardbench2.load_rewardbench2(data, limit), mode, seed, both_orders, skip_ties)
    jobs = with_item_sizes(jobs)
    if not jobs:
        raise DataError(f"{data}: no rewardbench2 items to judge (only Ties items, and --skip-ties)")
    identity = {
        "stage": "evaluate", "benchmark": rewardbench2.BENCHMARK, "data": file_fingerprint(data),
        "model": model_identity(backend if not isinstance(backend, str) else model),
        "backend": backend if isinstance(backend, str) else backend.name, "max_new_tokens": max_new_tokens, "seed": seed,
        "style": style, "verdict_rule": verdict_rule, "both_orders": both_orders, "rb2_mode": mode, "skip_ties": skip_ties,
    }  # fmt: skip
    log = RunLog(out / "log.jsonl", identity, restart=restart)
    pending = log.pending(jobs)
    if pending:
        engine = backend_for(backend, model, len(pending), max_new_tokens)
        generate_into_log(
            engine, pending, lambda j: rewardbench2.job_messages(j, seed, style),
            lambda j, c: [rewardbench2.job_record(j, c[0], seed, verdict_rule)],
            log, SamplingParams(max_new_tokens=max_new_tokens, seed=seed), chunk_size=chunk_size, progress=progress,
            desc=f"evaluate {rewardbench2.BENCHMARK} ({mode})", total=len(jobs),
        )  # fmt: skip
    order = {j["key"]: k for k, j in enumerate(jobs)}
    lines = sorted((r for r in log.records if r["key"] in order), key=lambda r: order[r["key"]])
    summary = {**score(rewardbench2.BENCHMARK, lines, scoring=scoring), "data": str(data), "seed": seed,
               "max_new_tokens": max_new_tokens, "comparisons": len(lines)}  # fmt: skip
    (out / "summary.json").write_text(to_json(summary) + "\n", encoding="utf-8")
    warning = truncation_warning(summary)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    return summary
