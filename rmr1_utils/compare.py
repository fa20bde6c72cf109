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

Only whole items are compared (an item a killed run left in part is excluded and counted,
:func:`~rmr1_utils.items.split_complete`). RewardBench 2 is paired by *item*, on each item's official
outcome (:func:`~rmr1_utils.rewardbench2.item_outcome`: 1, 0, 0.25 without a verdict, a share of tied
top ratings; a Ties item accurate or not), so runs in different modes compare too; a rating line alone
is neither right nor wrong. McNemar needs right/wrong outcomes: with fractional ones it is not
reported (``None``) and a note says why.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path

from rmr1_utils.errors import DataError
from rmr1_utils.intervals import format_interval, format_number, items_by_stratum
from rmr1_utils.items import drawn_log, incomplete_note, item_of, split_complete
from rmr1_utils.rewardbench2 import BENCHMARK, item_outcome
from rmr1_utils.runlog import read_identity
from rmr1_utils.scoring import SCORERS
from rmr1_utils.stats import DEFAULT_RESAMPLES, Interval, bootstrap_mean, bootstrap_statistic, mcnemar_exact, paired_difference


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


def _check_keys(path: str | Path, log: Sequence[dict]) -> None:
    """Every line has a key and no key repeats (a judgement twice in one log would count twice, or a
    second run's lines would be paired as if they were the first's): a DataError naming the lines."""
    first: dict[str, int] = {}
    for k, line in enumerate(log, 1):
        if "key" not in line:
            raise DataError(f"{path}: log line {k} has no 'key'; --compare pairs judgements by key")
        if line["key"] in first:
            raise DataError(
                f"{path}: key {line['key']!r} is on log lines {first[line['key']]} and {k}: a judgement twice in one "
                "log would count twice; compare one run's log with another's"
            )
        first[line["key"]] = k


def _pair_of(bench: str, line: dict) -> Hashable:
    """What two runs are paired on: the comparison (its key), or for RewardBench 2 the item — its
    official outcome is per item (best of 4, Ties), and a rating line alone is neither right nor wrong."""
    return (line["subset"], line["id"]) if bench == BENCHMARK else line["key"]


def _outcome(bench: str, lines: Sequence[dict]) -> float:
    """The official outcome of one paired unit: 1/0 for a comparison, :func:`item_outcome` for a RewardBench 2 item."""
    return item_outcome(lines) if bench == BENCHMARK else float(bool(lines[0]["correct"]))


def compare_logs(
    log_a: Sequence[dict],
    log_b: Sequence[dict],
    names: tuple[str, str] = ("A", "B"),
    benchmark: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict:
    """Compare two runs of one benchmark on the comparisons (RewardBench 2: the items) both logs hold whole.

    Args:
        log_a, log_b: the two per-sample logs (lines of ``rmr1 evaluate``, each with a ``key``).
        names: the logs' paths (for messages and the result).
        benchmark: ``--benchmark``, needed only when the lines do not name theirs.
        resamples, seed: of every bootstrap here (seeded: the same logs give the same result).

    Returns:
        ``benchmark``, ``unit`` (``comparison``, or ``item`` for RewardBench 2, whose runs may use
        different modes), ``log_a``, ``log_b``, ``n_shared``, ``n_only_a``, ``n_only_b``,
        ``n_incomplete_a``/``n_incomplete_b`` (items left out, :func:`~rmr1_utils.items.split_complete`),
        ``accuracy_a``/``accuracy_b`` (interval dicts of the mean outcome per unit, by item),
        ``difference`` (B − A, paired interval), ``mcnemar_p`` (None when outcomes are not all
        right/wrong: RewardBench 2's 0.25 and shared top ratings), ``only_a_right``/``only_b_right``
        (the discordant counts), ``score_a``/``score_b`` (official scores on the shared units),
        ``score_difference`` (B − A, paired interval) and ``notes``.

    Raises:
        DataError: logs of different benchmarks, logs that share no key, or a line without a key.
    """
    found = [log_benchmark(name, log, benchmark) for name, log in zip(names, (log_a, log_b))]
    if found[0] != found[1]:
        raise DataError(f"{names[0]} is a {found[0]} log and {names[1]} a {found[1]} log; compare two runs of one benchmark")
    bench = found[0]
    _check_keys(names[0], log_a)
    _check_keys(names[1], log_b)
    (whole_a, incomplete_a), (whole_b, incomplete_b) = split_complete(bench, log_a), split_complete(bench, log_b)
    a: dict[Hashable, list[dict]] = {}
    b: dict[Hashable, list[dict]] = {}
    for lines, units in ((whole_a, a), (whole_b, b)):
        for line in lines:
            units.setdefault(_pair_of(bench, line), []).append(line)
    shared = sorted((k for k in a if k in b), key=str)
    unit = "item" if bench == BENCHMARK else "comparison"
    if not shared:
        raise DataError(
            f"{names[0]} and {names[1]} share no comparison keys of whole {unit}s: nothing to compare (other data or --limit?)"
        )
    right_a = {k: _outcome(bench, a[k]) for k in shared}
    right_b = {k: _outcome(bench, b[k]) for k in shared}
    clusters = {k: item_of(a[k][0]) for k in shared}
    labels = [clusters[k] for k in shared]
    lines_a = [line for k in shared for line in a[k]]
    lines_b = [line for k in shared for line in b[k]]
    scorer = SCORERS[bench]

    # The official score's difference: both runs rescored on the same resampled items (each draw its own item).
    units = [
        [list(dict.fromkeys(_pair_of(bench, line) for line in item)) for item in items]
        for items in items_by_stratum(bench, lines_a)[1]
    ]

    def score_gap(picked: list[list[Hashable]]) -> dict:
        def side(run: dict) -> float:
            return scorer(drawn_log([[line for k in item for line in run[k]] for item in picked]))["score"]

        return {"d": side(b) - side(a)}

    low, high = bootstrap_statistic(units, score_gap, resamples, seed).get("d", (float("nan"), float("nan")))
    score_a, score_b = scorer(lines_a)["score"], scorer(lines_b)["score"]
    binary = all(v in (0.0, 1.0) for v in (*right_a.values(), *right_b.values()))
    notes = []
    for name, count in ((names[0], incomplete_a), (names[1], incomplete_b)):
        if count:
            notes.append(f"{name}: {incomplete_note(count)}")
    n_items = len(set(labels))
    if not binary:
        notes.append(
            "McNemar needs right/wrong outcomes, and some items score in between (0.25 without a verdict, a share of "
            "tied top ratings): trust the intervals (by item)"
        )
    elif n_items < len(shared):
        notes.append(
            f"McNemar counts the {len(shared)} {unit}s as independent, but they come from {n_items} items "
            "(both orders, RM-Bench's cells, Best-of-N losers, a Ties prompt's two items): its p is too small; "
            "trust the intervals (by item)"
        )

    def shown(lines: list[dict]) -> dict:
        return {line["key"]: line.get("better_position") for line in lines}

    reordered = sum(shown(a[k]).keys() == shown(b[k]).keys() and shown(a[k]) != shown(b[k]) for k in shared)
    if reordered:
        notes.append(f"{reordered} shared {unit}s were shown in the other order in the two runs (another --seed?)")
    return {
        "benchmark": bench,
        "unit": unit,
        "log_a": str(names[0]),
        "log_b": str(names[1]),
        "n_shared": len(shared),
        "n_items": n_items,
        "n_only_a": len(a) - len(shared),
        "n_only_b": len(b) - len(shared),
        "n_incomplete_a": incomplete_a,
        "n_incomplete_b": incomplete_b,
        "accuracy_a": bootstrap_mean([right_a[k] for k in shared], labels, resamples, seed).to_dict(),
        "accuracy_b": bootstrap_mean([right_b[k] for k in shared], labels, resamples, seed).to_dict(),
        "difference": paired_difference(right_a, right_b, clusters, resamples, seed).to_dict(),
        "mcnemar_p": mcnemar_exact(right_a, right_b) if binary else None,
        "only_a_right": sum(right_a[k] > right_b[k] for k in shared),
        "only_b_right": sum(right_b[k] > right_a[k] for k in shared),
        "score_a": score_a,
        "score_b": score_b,
        "score_difference": Interval(score_b - score_a, low, high, len(shared), n_items).to_dict(),
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
    unit = result.get("unit", "comparison")
    p = result["mcnemar_p"]
    lines = [
        f"{result['benchmark']}: B − A on {result['n_shared']} shared {unit}s ({result['n_items']} items); "
        f"only in A: {result['n_only_a']}, only in B: {result['n_only_b']}",
        f"  A: {result['log_a']}",
        f"  B: {result['log_b']}",
        f"  {'accuracy (per ' + unit + ')':<28} A {format_number(acc_a['value'])} {format_interval(acc_a)}   "
        f"B {format_number(acc_b['value'])} {format_interval(acc_b)}",
        f"  {'difference B − A':<28} {signed(result['difference'])}  (95% paired bootstrap by item)",
        f"  {'McNemar exact p':<28} {'n/a' if p is None else format(p, '.3g')}  (right only in A: "
        f"{result['only_a_right']}, only in B: {result['only_b_right']})",
        f"  {'official score (shared)':<28} A {format_number(result['score_a'])}   B {format_number(result['score_b'])}   "
        f"difference {signed(result['score_difference'])}",
    ]
    lines += [f"  note: {note}" for note in result["notes"]]
    return "\n".join(lines)
