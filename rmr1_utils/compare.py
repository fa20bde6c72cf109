"""``rmr1 score --compare LOG_A LOG_B``: two runs of one benchmark, compared on the comparisons both judged.

Two accuracies measured on different comparisons, or compared as if independent, mislead: most of a
judge's score is the items' own difficulty, which both runs share. So the comparison is *paired*:
only the keys both logs hold count, the accuracy difference gets a paired bootstrap interval that
resamples items (:func:`~rmr1_utils.stats.paired_difference`, clustered by item as in
:mod:`rmr1_utils.intervals`), and the exact McNemar test (:func:`~rmr1_utils.stats.mcnemar_exact`)
asks whether the discordant judgements (right in one run only) lean one way. The official score of
each run on the shared comparisons is reported too, with a paired interval of its difference that
rescores both runs on the same resampled items (so RewardBench's weighting or JudgeBench's pair rule
apply as in the summary).

McNemar counts each comparison as one observation; when items have several (both orders, RM-Bench's
9 cells) they are not independent and its p-value is too small: the interval, by item, is then the
one to trust, and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.errors import DataError
from rmr1_utils.intervals import format_interval, format_number, item_of, items_by_stratum
from rmr1_utils.runlog import read_identity
from rmr1_utils.scoring import SCORERS
from rmr1_utils.stats import DEFAULT_RESAMPLES, Interval, bootstrap_mean, bootstrap_statistic, mcnemar_exact, paired_difference
from rmr1_utils.summary import score


def log_benchmark(path: str | Path, log: Sequence[dict], given: str | None = None) -> str:
    """The benchmark a log belongs to: its lines' ``benchmark`` (else its identity's, else ``given``).

    Args:
        path: the log file (named in errors; its identity line is read when the lines name no benchmark).
        log: its lines.
        given: ``--benchmark``, or None.

    Returns:
        The benchmark name.

    Raises:
        DataError: a log whose lines name several benchmarks, none that can be found, or one that
            is not ``given``.
    """
    named = {line.get("benchmark") for line in log} - {None}
    if len(named) > 1:
        raise DataError(f"{path}: lines of several benchmarks ({', '.join(sorted(named))}); compare one benchmark's runs")
    found = next(iter(named), None) or (read_identity(path) or {}).get("benchmark")
    if found is None and given is None:
        raise DataError(f"{path}: its lines name no benchmark; pass --benchmark")
    if found is not None and given is not None and found != given:
        raise DataError(f"{path}: a {found} log, not {given} (--benchmark)")
    return found or given


def _keyed(path: str | Path, log: Sequence[dict]) -> dict[str, dict]:
    """A log's lines by key (the pairing of two runs); a keyless line is a DataError naming it."""
    for k, line in enumerate(log, 1):
        if "key" not in line:
            raise DataError(f"{path}: log line {k} has no 'key'; --compare pairs judgements by key")
    return {line["key"]: line for line in log}


def compare_logs(
    log_a: Sequence[dict],
    log_b: Sequence[dict],
    names: tuple[str, str] = ("A", "B"),
    benchmark: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict:
    """Compare two runs of one benchmark on the comparison keys both logs hold.

    Args:
        log_a, log_b: the two per-sample logs (lines of ``rmr1 evaluate``, each with a ``key``).
        names: the logs' paths (for messages and the result).
        benchmark: ``--benchmark``, needed only when the lines do not name theirs.
        resamples, seed: of every bootstrap here (seeded: the same logs give the same result).

    Returns:
        ``benchmark``, ``log_a``, ``log_b``, ``n_shared``, ``n_only_a``, ``n_only_b``,
        ``accuracy_a``/``accuracy_b`` (interval dicts, per comparison, by item), ``difference``
        (B − A, paired interval), ``mcnemar_p``, ``only_a_right``/``only_b_right`` (the discordant
        counts), ``score_a``/``score_b`` (official scores on the shared comparisons),
        ``score_difference`` (B − A, paired interval) and ``notes``.

    Raises:
        DataError: logs of different benchmarks, logs that share no key, or a line without a key.
    """
    found = [log_benchmark(name, log, benchmark) for name, log in zip(names, (log_a, log_b))]
    if found[0] != found[1]:
        raise DataError(f"{names[0]} is a {found[0]} log and {names[1]} a {found[1]} log; compare two runs of one benchmark")
    bench = found[0]
    a, b = _keyed(names[0], log_a), _keyed(names[1], log_b)
    shared = sorted((k for k in a if k in b), key=str)
    if not shared:
        raise DataError(f"{names[0]} and {names[1]} share no comparison keys: nothing to compare (different data or --limit?)")
    lines_a, lines_b = [a[k] for k in shared], [b[k] for k in shared]
    right_a = {k: bool(a[k]["correct"]) for k in shared}
    right_b = {k: bool(b[k]["correct"]) for k in shared}
    clusters = {k: item_of(a[k]) for k in shared}
    labels = [clusters[k] for k in shared]
    summary_a, summary_b = score(bench, lines_a, resamples=0), score(bench, lines_b, resamples=0)

    # The official score's difference: both runs rescored on the same resampled items (of A's lines: same keys).
    units = [[[line["key"] for line in item] for item in items] for items in items_by_stratum(bench, lines_a)[1]]

    def score_gap(picked: list[list[str]]) -> dict:
        keys = [k for item in picked for k in item]
        return {"d": SCORERS[bench]([b[k] for k in keys])["score"] - SCORERS[bench]([a[k] for k in keys])["score"]}

    low, high = bootstrap_statistic(units, score_gap, resamples, seed).get("d", (float("nan"), float("nan")))
    gap = summary_b["score"] - summary_a["score"]
    notes = []
    n_items = len(set(labels))
    if n_items < len(shared):
        notes.append(
            f"McNemar counts the {len(shared)} comparisons as independent, but they come from {n_items} items "
            "(both orders, RM-Bench's cells, Best-of-N losers): its p is too small; trust the intervals (by item)"
        )
    reordered = sum(a[k].get("better_position") != b[k].get("better_position") for k in shared)
    if reordered:
        notes.append(f"{reordered} shared comparisons were shown in the other order in the two runs (another --seed?)")
    return {
        "benchmark": bench,
        "log_a": str(names[0]),
        "log_b": str(names[1]),
        "n_shared": len(shared),
        "n_items": n_items,
        "n_only_a": len(a) - len(shared),
        "n_only_b": len(b) - len(shared),
        "accuracy_a": bootstrap_mean([float(right_a[k]) for k in shared], labels, resamples, seed).to_dict(),
        "accuracy_b": bootstrap_mean([float(right_b[k]) for k in shared], labels, resamples, seed).to_dict(),
        "difference": paired_difference(right_a, right_b, clusters, resamples, seed).to_dict(),
        "mcnemar_p": mcnemar_exact(right_a, right_b),
        "only_a_right": sum(right_a[k] and not right_b[k] for k in shared),
        "only_b_right": sum(right_b[k] and not right_a[k] for k in shared),
        "score_a": summary_a["score"],
        "score_b": summary_b["score"],
        "score_difference": Interval(gap, low, high, len(shared), n_items).to_dict(),
        "notes": notes,
    }


def format_comparison(result: dict) -> str:
    """A readable table of :func:`compare_logs`' result.

    Args:
        result: what :func:`compare_logs` returned (or its JSON).

    Returns:
        The table: counts, both accuracies, the difference, McNemar, the official scores, notes.
    """

    def signed(interval: dict) -> str:
        value = interval.get("value")
        return "n/a" if value is None or value != value else f"{value:+.3f} {format_interval(interval)}"

    acc_a, acc_b = result["accuracy_a"], result["accuracy_b"]
    lines = [
        f"{result['benchmark']}: B − A on {result['n_shared']} shared comparisons ({result['n_items']} items); "
        f"only in A: {result['n_only_a']}, only in B: {result['n_only_b']}",
        f"  A: {result['log_a']}",
        f"  B: {result['log_b']}",
        f"  {'accuracy (per comparison)':<28} A {format_number(acc_a['value'])} {format_interval(acc_a)}   "
        f"B {format_number(acc_b['value'])} {format_interval(acc_b)}",
        f"  {'difference B − A':<28} {signed(result['difference'])}  (95% paired bootstrap by item)",
        f"  {'McNemar exact p':<28} {result['mcnemar_p']:.3g}  (right only in A: {result['only_a_right']}, "
        f"only in B: {result['only_b_right']})",
        f"  {'official score (shared)':<28} A {format_number(result['score_a'])}   B {format_number(result['score_b'])}   "
        f"difference {signed(result['score_difference'])}",
    ]
    lines += [f"  note: {note}" for note in result["notes"]]
    return "\n".join(lines)
