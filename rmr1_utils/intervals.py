"""Uncertainty of every number of a benchmark summary: seeded 95 % bootstrap intervals by item that
follow the benchmark's own aggregation.

Most headline scores are not a plain mean over judgements: RewardBench weights its subsets by the
official example counts and averages four sections, RM-Bench averages the triangles of a 3×3 style
matrix per domain, RMB averages its goals, and JudgeBench and RMB Best-of-N score *items* (a pair
judged in both orders, a best answer against all its losers). An interval from
:func:`~rmr1_utils.stats.bootstrap_mean` over judgements would not even be centred on such a score.
So every resample draws *items* with replacement (all judgements of an item stay together: both
orders, RM-Bench's 9 cells, a Best-of-N item's losers, a Ties prompt's ``ref`` and ``tied`` items;
:func:`~rmr1_utils.items.item_of`), gives every draw its own id, so that an item drawn k times weighs
k times (:func:`~rmr1_utils.items.drawn_log`: scorers that group lines by id would otherwise count a
repeated JudgeBench pair, Best-of-N or RewardBench 2 item once, and the intervals came out 0.74–0.82
of the right width), rescores them with the benchmark's official scorer
(:data:`rmr1_utils.scoring.SCORERS`), and each number's interval is the percentile interval of its
rescored values (:func:`~rmr1_utils.stats.bootstrap_statistic`). ``bench/interval_widths.py``
checks the widths against a direct bootstrap of the expanded log.

Items are drawn *within strata* (:data:`STRATA`: RewardBench sections, RM-Bench domains, RMB goals,
JudgeBench categories, pair and HelpSteer3 domains), so that every resample keeps the benchmark's
composition: drawing from the whole log, a resample of a small run could lose a RewardBench section,
which the official rule then counts as 0. Plain per-subset accuracies get the same interval a
clustered :func:`~rmr1_utils.stats.bootstrap_mean` over that subset's items would give.

Cost: one rescoring per resample, plus copies of the repeated draws' lines (about a third more than
scoring the draws as they are: 3.0 against 2.3 CPU seconds for 500 resamples of a 300-item RM-Bench
log on the project's 2-core machine); 2000 resamples of a full RM-Bench log (11,700 judgements) take
about a minute on one CPU core there, of RewardBench's 2,985 judgements under half of that.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from rmr1_utils.benchmarks import NO_DOMAIN, REWARDBENCH_SECTIONS, _top_category
from rmr1_utils.items import drawn_log, item_of
from rmr1_utils.scoring import judgebench_category
from rmr1_utils.stats import DEFAULT_RESAMPLES, Interval, bootstrap_statistic

#: Summary blocks that hold one number per name (a dict entry contributes its ``score``).
BLOCKS = ("sections", "domains", "categories", "subsets", "languages")

_SECTION_OF = {subset: section for section, subsets in REWARDBENCH_SECTIONS.items() for subset in subsets}


#: Benchmark → (what a stratum is, line → its stratum). Any other benchmark is stratified by subset.
STRATA: dict[str, tuple[str, Callable[[dict], Hashable]]] = {
    "rewardbench": ("section", lambda r: _SECTION_OF.get(r["subset"], r["subset"])),
    "rmbench": ("domain", lambda r: r["domain"] or NO_DOMAIN),
    "rmb-pairwise": ("goal", lambda r: _top_category(r["subset"])),
    "rmb-bon": ("goal", lambda r: _top_category(r["subset"])),
    "rmb": ("part and goal", lambda r: (r.get("benchmark"), _top_category(r["subset"]))),
    "judgebench": ("category", lambda r: judgebench_category(r["subset"])),
    "pairs": ("domain", lambda r: r["domain"]),
    "helpsteer3": ("domain", lambda r: r["domain"]),
}
_DEFAULT_STRATUM = ("subset", lambda r: r["subset"])


def metric_leaves(metrics: dict) -> dict[tuple[str, ...], float]:
    """Every number of a scorer's output, keyed by where it sits.

    Args:
        metrics: what a scorer returned.

    Returns:
        ``(key,)`` for a top-level number (``score``, ``hard``, ``example_mean``…; not the counts
        ``n`` and ``n_*``), ``(block, name)`` for an entry of a :data:`BLOCKS` block (an RM-Bench
        domain contributes its ``score``).
    """
    out: dict[tuple[str, ...], float] = {}
    for key, value in metrics.items():
        if key in BLOCKS and isinstance(value, dict):
            for name, entry in value.items():
                number = entry.get("score") if isinstance(entry, dict) else entry
                if isinstance(number, (int, float)) and not isinstance(number, bool):
                    out[(key, name)] = float(number)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key != "n" and not key.startswith("n_"):
            out[(key,)] = float(value)
    return out


def items_by_stratum(benchmark: str, log: Sequence[dict]) -> tuple[str, list[list[list[dict]]]]:
    """The log's items (lists of lines) grouped by stratum (:data:`STRATA`), both in a fixed order.

    Args:
        benchmark: picks the strata (any benchmark not in :data:`STRATA`: by subset).
        log: the per-sample log lines.

    Returns:
        What a stratum is (``"section"``…), and each stratum's items.
    """
    what, stratum = STRATA.get(benchmark, _DEFAULT_STRATUM)
    items: dict[tuple, list[dict]] = {}
    for line in log:
        items.setdefault(item_of(line), []).append(line)
    strata: dict[Hashable, list[tuple]] = {}
    for key, lines in items.items():
        strata.setdefault(stratum(lines[0]), []).append(key)
    # Sorted, so the same lines in another order (a resumed log, two logs scored together) give the same interval.
    return what, [[items[k] for k in sorted(keys, key=repr)] for _, keys in sorted(strata.items(), key=lambda kv: repr(kv[0]))]


def score_intervals(
    benchmark: str,
    log: Sequence[dict],
    metrics: dict,
    scorer: Callable[[Sequence[dict]], dict],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Bootstrap intervals of every number of a summary, resampling items within strata.

    Args:
        benchmark: the benchmark (picks the strata, :data:`STRATA`).
        log: the per-sample log lines.
        metrics: the scorer's output on ``log`` (the point estimates).
        scorer: the benchmark's official scorer, rerun on every resample.
        resamples, seed, level: the bootstrap's (seeded: the same log always gives the same intervals).

    Returns:
        ``<key>_ci`` for each top-level number (``score_ci``, ``hard_ci``…) and ``<block>_ci``
        (name → interval) for each block, every interval an :class:`~rmr1_utils.stats.Interval`
        dict whose ``n`` and ``clusters`` count the judgements and items behind that number; and
        ``bootstrap``: how the intervals were made.
    """
    what, strata = items_by_stratum(benchmark, log)
    values = metric_leaves(metrics)

    def rescored(items: list[list[dict]]) -> dict:
        return metric_leaves(scorer(drawn_log(items)))

    bounds = bootstrap_statistic(strata, rescored, resamples, seed, level)
    # Which judgements and items are behind each number: the numbers an item scored alone produces.
    support: dict[tuple[str, ...], list[int]] = {}
    for item in (item for units in strata for item in units):
        for leaf in rescored([item]):
            counts = support.setdefault(leaf, [0, 0])
            counts[0] += len(item)
            counts[1] += 1
    out: dict = {}
    for leaf, value in values.items():
        low, high = bounds.get(leaf, (float("nan"), float("nan")))
        n, clusters = support.get(leaf, (0, 0))
        interval = Interval(value, low, high, n, clusters, level).to_dict()
        if len(leaf) == 1:
            out[f"{leaf[0]}_ci"] = interval
        else:
            out.setdefault(f"{leaf[0]}_ci", {})[leaf[1]] = interval
    out["bootstrap"] = {"resamples": resamples, "seed": seed, "level": level, "unit": "item", "strata": what}
    return out


def format_interval(interval: dict | None, items: bool = False) -> str:
    """``[low, high]`` of an interval dict (``""`` when there is none, ``[n/a]`` when not measured).

    Args:
        interval: an :class:`~rmr1_utils.stats.Interval` dict, or None.
        items: add how many items it rests on (an interval over 1 or 2 items says little).
    """
    if not interval:
        return ""
    low, high = interval.get("low"), interval.get("high")
    shown = "[n/a]" if low is None or high is None or low != low or high != high else f"[{low:.3f}, {high:.3f}]"
    count = interval.get("clusters")
    return f"{shown} {count:>3} item{'' if count == 1 else 's'}" if items and count is not None else shown


def format_number(value) -> str:
    """A metric with three decimals, or ``n/a`` when it could not be measured (None or NaN)."""
    return "n/a" if value is None or value != value else f"{value:.3f}"
