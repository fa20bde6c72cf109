"""A benchmark summary: the official score of a per-sample log, its intervals and null baselines, as JSON and as a table.

:func:`score` puts three pieces together — the benchmark's own scorer (:mod:`rmr1_utils.scoring`),
seeded bootstrap intervals for every number (:mod:`rmr1_utils.intervals`) and the null baselines
(:mod:`rmr1_utils.baselines`) — and :func:`format_scores` prints them side by side, so that a
number is never read without its uncertainty and what a judge that reads nothing would score.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from rmr1_utils.baselines import baselines, block_baselines, format_baselines
from rmr1_utils.errors import DataError
from rmr1_utils.faithfulness import faithfulness_summary, format_faithfulness
from rmr1_utils.intervals import BLOCKS, format_interval, format_number, score_intervals
from rmr1_utils.items import incomplete_note, item_of, split_complete
from rmr1_utils.scoring import SCORERS, judge_quality, scorer_for, scoring_rule
from rmr1_utils.stats import DEFAULT_RESAMPLES


def score(benchmark: str, log: Sequence[dict], resamples: int = DEFAULT_RESAMPLES, seed: int = 0, scoring: str = "rmr1") -> dict:
    """All metrics of a benchmark from its per-sample log, with intervals, null baselines and :func:`judge_quality`.

    Args:
        benchmark: one of :data:`SCORERS` (the benchmarks, and ``rmb``: RMB's four-way score
            from the lines of an ``rmb-pairwise`` and an ``rmb-bon`` log together).
        log: the per-sample log lines.
        resamples: bootstrap resamples of the intervals (0: no intervals).
        seed: the bootstrap's seed (fixed, so rescoring a log reproduces its summary exactly).
        scoring: ``rmr1`` (RM-R1's rules) or ``official`` (each benchmark's own generative scorer;
            :data:`rmr1_utils.scoring.SCORING_DIFFERENCES`): the score, its intervals and the baselines
            all follow it.

    Only whole items are scored: an item with some of its comparisons, games, cells or ratings
    missing from the log (a run killed part-way) is left out, counted in ``n_incomplete_items`` and
    named in a note (:func:`rmr1_utils.items.split_complete`).

    Returns:
        ``benchmark``, the scorer's metrics (with ``notes`` when the score departs from the
        benchmark's full protocol, e.g. a missing section, or when items were incomplete),
        ``n_incomplete_items``, a 95 % interval for each of them
        (``score_ci``, ``<block>_ci``…; :func:`rmr1_utils.intervals.score_intervals`),
        ``baselines`` (:func:`rmr1_utils.baselines.baselines`), ``quality``, ``scoring`` with
        ``scoring_rule`` (the rule used, in words); and ``faithfulness``
        (:func:`rmr1_utils.faithfulness.faithfulness_summary`) when the log records the shown responses.

    Raises:
        DataError: an unknown benchmark, an empty log, a log line without the fields the scorer
            needs, or a log without one whole item.
    """
    if benchmark not in SCORERS:
        raise DataError(f"unknown benchmark {benchmark!r}: expected one of {', '.join(SCORERS)}")
    if not log:
        raise DataError(f"{benchmark}: the log has no lines, nothing to score")
    for k, r in enumerate(log):
        missing = [f for f in ("id", "subset", "domain", "verdict", "correct") if f not in r]
        if missing:
            raise DataError(f"log line {k + 1}: missing field(s) {', '.join(missing)}")
    rule = scoring_rule(benchmark, scoring)
    scorer = scorer_for(benchmark, scoring)
    log, incomplete = split_complete(benchmark, log)
    if not log:
        raise DataError(f"{benchmark}: {incomplete_note(incomplete)}: not one whole item to score")
    metrics = scorer(log)
    if incomplete:
        metrics["notes"] = [*metrics.get("notes", []), incomplete_note(incomplete)]
    intervals = score_intervals(benchmark, log, metrics, scorer, resamples, seed) if resamples else {}
    summary = {"benchmark": benchmark, **metrics, "n_incomplete_items": incomplete, **intervals,
               "baselines": baselines(log, scorer), "quality": judge_quality(log),
               "scoring": scoring, "scoring_rule": rule}  # fmt: skip
    faithful = faithfulness_summary(log, item_of, resamples, seed)  # logs that record the shown responses
    if faithful is not None:
        summary["faithfulness"] = faithful
    return summary


def json_ready(value):
    """A copy of a summary with every NaN or infinity replaced by None (strict JSON: ``null``, never ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def to_json(summary: dict, indent: int | None = 2) -> str:
    """A summary as strict JSON (RFC 8259): a metric that could not be measured is ``null``.

    Args:
        summary: what :func:`score` or :func:`~rmr1_utils.evaluate.run_evaluation` returned.
        indent: JSON indentation.

    Returns:
        The JSON text.
    """
    return json.dumps(json_ready(summary), indent=indent, allow_nan=False)


def truncation_warning(summary: dict) -> str | None:
    """A loud one-line warning when judgements were cut at ``max_new_tokens`` before their verdict.

    Such a judgement counts as wrong, so a cap too small for the judge (RM-R1 checkpoints write
    long rubrics; their harness allowed tens of thousands of tokens) silently lowers the score.

    Args:
        summary: a summary with ``quality.truncation_rate`` (and ``max_new_tokens`` when known).

    Returns:
        The warning, or None when no judgement was cut.
    """
    rate = summary.get("quality", {}).get("truncation_rate")
    if rate is None or not rate > 0:  # None, NaN or 0
        return None
    cap = f" at max_new_tokens={summary['max_new_tokens']}" if summary.get("max_new_tokens") else " at max_new_tokens"
    return (
        f"WARNING: {rate:.1%} of the {summary.get('benchmark', '')} judgements were cut{cap} before their verdict and "
        "count as wrong (truncation_rate in the summary); RM-R1 checkpoints write long rubrics: "
        "rerun with a larger --max-new-tokens"
    )


def format_scores(summary: dict) -> str:
    """A readable table of a summary: headline score with its interval and the null baselines, notes,
    then sections/domains/categories/subsets/languages, each with its interval and baselines.

    Args:
        summary: what :func:`score` or :func:`~rmr1_utils.evaluate.run_evaluation` returned (or its JSON, ``null`` read as n/a).

    Returns:
        The table, one metric per line.
    """
    boot = summary.get("bootstrap")
    how = f"  (95% interval: {boot['resamples']} resamples of items within each {boot['strata']})" if boot else ""
    headline = f"{summary['benchmark']}: score {format_number(summary['score'])} {format_interval(summary.get('score_ci'))}"
    lines = [headline.rstrip() + how]
    others = [k[: -len("_ci")] for k in summary if k.endswith("_ci") and k[: -len("_ci")] not in ("score", *BLOCKS)]
    if others:
        lines.append(
            "  " + ", ".join(f"{k} {format_number(summary.get(k))} {format_interval(summary[k + '_ci'])}" for k in others)
        )
    baselines = format_baselines(summary)
    if baselines:
        lines.append(f"  {baselines}")
    skipped = summary.get("skipped")
    if skipped:
        lines += [f"  skipped: {n} record(s) with {reason}, not judged" for reason, n in skipped["reasons"].items()]
    if summary.get("scoring"):
        lines.append(f"  scoring: {summary['scoring']}: {summary.get('scoring_rule', '')}".rstrip(": "))
    lines += [f"  note: {note}" for note in summary.get("notes", [])]
    for key in BLOCKS:
        block = summary.get(key)
        if block:
            lines.append(f"  {key}:")
            intervals = summary.get(f"{key}_ci") or {}
            for name, value in block.items():
                shown = value["score"] if isinstance(value, dict) else value
                extra = ""
                if isinstance(value, dict):  # RM-Bench's domains: the three style-difficulty levels
                    extra = (
                        "  (" + ", ".join(f"{level} {format_number(value[level])}" for level in ("hard", "normal", "easy")) + ")"
                    )
                nulls = block_baselines(summary, key, name)
                line = f"    {name:<28} {format_number(shown)} {format_interval(intervals.get(name), items=True):<26}{extra}"
                lines.append((f"{line}  | {nulls}" if nulls else line).rstrip())
    q = summary.get("quality", {})
    lines.append("  judge: " + ", ".join(f"{k}={format_number(v)}" for k, v in q.items()))
    faithful = format_faithfulness(summary.get("faithfulness"))
    if faithful:
        lines.append(faithful)
    return "\n".join(lines)
