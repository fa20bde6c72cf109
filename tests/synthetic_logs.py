"""Seeded per-sample logs in every benchmark's real log format, and a direct reference bootstrap.

The logs have what ``rmr1 evaluate`` writes — keys, ids (RM-Bench's colliding across domains),
subsets and domains, cells, both JudgeBench games, Best-of-N losers, RewardBench 2 comparisons,
four-way judgements, ratings and Ties prompts, and ``item_size`` — judged by a seeded judge whose
skill varies by item, so items differ as real ones do. Used by ``tests/test_intervals.py``,
``tests/test_items.py`` and ``bench/interval_widths.py``.

:func:`reference_bounds` is the bootstrap written out directly: draw items with replacement, give
every draw a fresh id, score the expanded log with the benchmark's official point scorer, take the
2.5 and 97.5 percentiles (``numpy.percentile``).
"""

from __future__ import annotations

import random

import numpy as np

from rmr1_utils.items import with_item_sizes
from rmr1_utils.scoring import SCORERS

#: Every log :func:`synthetic_log` writes: name → the benchmark that scores it.
LOGS = {
    "rewardbench": "rewardbench",
    "rmbench": "rmbench",
    "rmb-pairwise": "rmb-pairwise",
    "rmb-bon": "rmb-bon",
    "rmb": "rmb",
    "judgebench": "judgebench",
    "helpsteer3": "helpsteer3",
    "pairs": "pairs",
    "rewardbench2-pairwise": "rewardbench2",
    "rewardbench2-four-way": "rewardbench2",
    "rewardbench2-ratings": "rewardbench2",
    "rewardbench2-ties": "rewardbench2",
}

_RB_SUBSETS = ("alpacaeval-easy", "mt-bench-med", "llmbar-natural", "mt-bench-hard", "donotanswer", "xstest-should-respond",
               "math-prm", "hep-python")  # fmt: skip
_JB_SOURCES = ("mmlu-pro-law", "livebench-math", "livebench-reasoning", "livecodebench")
_RB2_SUBSETS = ("Factuality", "Precise IF", "Math", "Safety", "Focus")
_OTHER = {"A": "B", "B": "A"}


def _judged(rng: random.Random, skill: float, better: str, letters: str = "AB") -> dict:
    """A verdict by a judge right with probability ``skill`` (no verdict 5 % of the time)."""
    if rng.random() < 0.05:
        verdict = None
    elif rng.random() < skill:
        verdict = better
    else:
        verdict = rng.choice([x for x in letters if x != better])
    return {"better_position": better, "verdict": verdict, "correct": verdict == better, "format_complete": verdict is not None,
            "finished": True}  # fmt: skip


def _line(benchmark, key, item, subset=None, domain=None, **fields) -> dict:
    return {"key": key, "id": item, "benchmark": benchmark, "subset": subset, "domain": domain, "cell": None, "order": 0,
            "length_diff": 0, **fields}  # fmt: skip


def _pair_lines(rng, benchmark, n_items, both_orders=False) -> list[dict]:
    lines = []
    for k in range(n_items):
        skill = rng.uniform(0.2, 0.95)
        if benchmark == "rewardbench":
            where = {"subset": _RB_SUBSETS[k % len(_RB_SUBSETS)]}
        elif benchmark == "rmb-pairwise":
            where = {"subset": f"Pairwise_set/{('Helpfulness', 'Harmlessness')[k % 2]}/Chat"}
        elif benchmark == "helpsteer3":
            where = {"subset": ("English", "German")[k % 2], "domain": ("general", "stem", "code")[k % 3]}
        else:
            where = {"subset": "synthetic", "domain": ("chat", "math")[k % 2]}
        key = f"{benchmark}-{k}"
        better = rng.choice("AB")
        lines.append(_line(benchmark, key, k, **where, **_judged(rng, skill, better), length_diff=rng.randint(-300, 300)))
        if both_orders:
            lines.append(_line(benchmark, key + "-swapped", k, **where, **_judged(rng, skill, _OTHER[better]), order=1))
    return lines


def _rmbench(rng, n_items, both_orders=False) -> list[dict]:
    lines = []
    for k in range(n_items):
        domain = ("chat", "math", "code", "safety")[k % 4]
        item = k // 4  # the official per-domain files share ids: chat item 3 and code item 3 are two items
        skill = rng.uniform(0.2, 0.95)
        for i in range(3):
            for j in range(3):
                better = rng.choice("AB")
                key = f"rmb3-{domain}-{item}-{i}{j}"
                lines.append(_line("rmbench", key, item, domain, domain, **_judged(rng, skill - 0.1 * (j - i), better),
                                   cell=[i, j]))  # fmt: skip
                if both_orders:
                    lines.append(_line("rmbench", key + "-swapped", item, domain, domain,
                                       **_judged(rng, skill - 0.1 * (j - i), _OTHER[better]), cell=[i, j], order=1))  # fmt: skip
    return lines


def _rmb_bon(rng, n_items) -> list[dict]:
    lines = []
    for k in range(n_items):
        skill = rng.uniform(0.5, 0.99)
        subset = f"BoN_set/{('Helpfulness', 'Harmlessness')[k % 2]}/Chat"
        for loser in range(rng.randint(2, 4)):
            lines.append(_line("rmb-bon", f"rmbb-{k}-{loser}", k, subset, **_judged(rng, skill, rng.choice("AB"))))
    return lines


def _judgebench(rng, n_items) -> list[dict]:
    lines = []
    for k in range(n_items):
        skill = rng.uniform(0.2, 0.95)
        source, first = _JB_SOURCES[k % 4], rng.choice("AB")
        for order, better in enumerate((first, _OTHER[first])):
            lines.append(_line("judgebench", f"jb-{k}-{order}", f"p{k}", source, **_judged(rng, skill, better), order=order))
    return lines


def _rb2(rng, n_items, mode) -> list[dict]:
    lines = []
    for k in range(n_items):
        subset, skill = _RB2_SUBSETS[k % 5], rng.uniform(0.2, 0.95)
        base = {"benchmark": "rewardbench2", "subset": subset, "domain": None, "id": k, "order": 0, "finished": True}
        key = f"rb2-{subset.replace(' ', '_')}-{k}"
        if mode == "pairwise":
            for r in range(3):
                judged = _judged(rng, skill, rng.choice("AB"))
                lines.append({**base, **judged, "key": f"{key}-r{r}", "kind": "pair", "cell": None, "rejected_index": r,
                              "length_diff": 0})  # fmt: skip
        elif mode == "four-way":
            lines.append({**base, **_judged(rng, skill, rng.choice("ABCD"), "ABCD"), "key": f"{key}-4way", "kind": "four-way"})
        else:
            lines += _ratings(rng, base, key, skill, 1, 3)
    return lines


def _ratings(rng, base, key, skill, n_correct, n_wrong) -> list[dict]:
    lines = []
    for r in range(n_correct + n_wrong):
        good = r < n_correct
        rating = None if rng.random() < 0.05 else max(1, min(10, round(rng.gauss(4 + 4 * skill if good else 5, 1.5))))
        lines.append({**base, "key": f"{key}-rate{r}", "kind": "rating", "response": r, "correct_response": good,
                      "verdict": rating, "correct": None, "format_complete": rating is not None})  # fmt: skip
    return lines


def _ties(rng, n_prompts) -> list[dict]:
    lines = []
    for n in range(n_prompts):
        skill = rng.uniform(0.2, 0.95)
        for kind, n_correct in (("ref", 1), ("tied", rng.randint(2, 3))):
            base = {"benchmark": "rewardbench2", "subset": "Ties", "domain": None, "id": f"{kind}:{n}", "order": 0,
                    "finished": True}  # fmt: skip
            lines += _ratings(rng, base, f"rb2-Ties-{kind}:{n}", skill, n_correct, rng.randint(2, 3))
    return lines


def synthetic_log(name: str, n_items: int = 60, seed: int = 0, both_orders: bool = False) -> list[dict]:
    """A seeded log of ``n_items`` items in the format of :data:`LOGS` ``name``, with ``item_size``.

    ``both_orders``: every comparison also in the swapped order (RM-Bench, RewardBench, RMB pairwise,
    HelpSteer3, pairs; JudgeBench always has both games).
    """
    rng = random.Random(f"{name}:{seed}")
    if name == "rmbench":
        lines = _rmbench(rng, n_items, both_orders)
    elif name == "rmb-bon":
        lines = _rmb_bon(rng, n_items)
    elif name == "rmb":
        lines = _pair_lines(rng, "rmb-pairwise", n_items) + _rmb_bon(rng, n_items)
    elif name == "judgebench":
        lines = _judgebench(rng, n_items)
    elif name.startswith("rewardbench2"):
        mode = name.removeprefix("rewardbench2-")
        lines = _ties(rng, n_items // 2) + _rb2(rng, n_items, "ratings") if mode == "ties" else _rb2(rng, n_items, mode)
    else:
        lines = _pair_lines(rng, name, n_items, both_orders)
    return with_item_sizes(lines)


def fresh_id(item_id, draw: int) -> str:
    """The reference's own relabelling (``ref:5`` drawn third → ``ref:5|3``; its ``tied:5`` → ``tied:5|3``)."""
    return f"{item_id}|{draw}"


def reference_bounds(benchmark: str, strata, resamples: int = 2000, seed: int = 0, collapse: bool = False) -> tuple:
    """The 95 % percentile interval of the official score, bootstrapped directly.

    Args:
        benchmark: picks the official point scorer.
        strata: the items (lists of lines) of each stratum; every stratum keeps its size.
        resamples, seed: draws with ``random.Random(seed)``, one ``randrange`` per unit, strata in order.
        collapse: keep the original ids (what the project did before: a repeated item counts once).

    Returns:
        ``(low, high)``.
    """
    rng, scorer, values = random.Random(seed), SCORERS[benchmark], []
    for _ in range(resamples):
        drawn = [units[rng.randrange(len(units))] for units in strata for _ in range(len(units))]
        log = [line if collapse else {**line, "id": fresh_id(line["id"], d)} for d, item in enumerate(drawn) for line in item]
        values.append(scorer(log)["score"])
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)
