"""Every summary number has a seeded bootstrap interval by item that follows the benchmark's aggregation."""

from __future__ import annotations

import json

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils import scoring
from rmr1_utils.intervals import items_by_stratum
from rmr1_utils.items import drawn_log, item_of
from rmr1_utils.stats import bootstrap_statistic
from rmr1_utils.summary import to_json

from .synthetic_logs import LOGS, reference_bounds, synthetic_log
from .test_evaluate import line


def test_stratified_bootstrap_keeps_each_stratum_its_size():
    # Stratum 1 is one unit (always drawn once), stratum 2 has a 0 and a 1: resamples see 1 + {0, 1, 2}.
    bounds = bootstrap_statistic([[1], [0, 1]], lambda units: {"sum": sum(units), "n": len(units)}, resamples=500)
    assert bounds["n"] == (3.0, 3.0)
    assert bounds["sum"] == (1.0, 3.0)
    assert bootstrap_statistic([[0, 1]], lambda u: {"m": sum(u) / 2}, seed=3) == bootstrap_statistic(
        [[0, 1]], lambda u: {"m": sum(u) / 2}, seed=3
    )
    assert bootstrap_statistic([[1]], lambda u: {"never": float("nan")}) == {}


def test_two_items_in_both_orders_by_hand():
    # Item 1 right in both orders, item 2 wrong in both: resampling 2 items gives 1, 0.5 or 0.
    log = [line(1, True, "s", "chat"), line(1, True, "s", "chat", order=1),
           line(2, False, "s", "chat"), line(2, False, "s", "chat", order=1)]  # fmt: skip
    s = ev.score("pairs", log)
    assert s["score_ci"] == {"value": 0.5, "low": 0.0, "high": 1.0, "n": 4, "clusters": 2, "level": 0.95}
    assert s["domains_ci"]["chat"] == s["score_ci"]
    # a position-biased judge (one order of each pair right): every resample scores 0.5
    biased = [r for k in range(10) for r in (line(k, True, "s", "chat"), line(k, False, "s", "chat", order=1))]
    assert ev.score("pairs", biased)["score_ci"] == {"value": 0.5, "low": 0.5, "high": 0.5, "n": 20, "clusters": 10,
                                                    "level": 0.95}  # fmt: skip
    assert s["bootstrap"] == {"resamples": 2000, "seed": 0, "level": 0.95, "unit": "item", "strata": "domain"}


def test_rewardbench_resamples_within_sections():
    # One right item per section: resampling across the whole log would often lose a section, which
    # the official rule counts 0; within sections every resample scores 1.
    log = [line(1, True, "alpacaeval-easy"), line(2, True, "mt-bench-hard"), line(3, True, "donotanswer"),
           line(4, True, "math-prm"), line(5, True, "hep-go")]  # fmt: skip
    s = ev.score("rewardbench", log)
    assert (s["score_ci"]["low"], s["score_ci"]["high"]) == (1.0, 1.0)
    assert s["sections_ci"]["Reasoning"]["clusters"] == 2 and s["subsets_ci"]["hep-go"]["n"] == 1
    assert set(s["subsets_ci"]) == set(s["subsets"]) and set(s["sections_ci"]) == set(s["sections"])
    assert s["example_mean_ci"]["value"] == 1.0 and s["bootstrap"]["strata"] == "section"


def test_interval_keys_for_every_benchmark_and_seeded():
    mixed = [True, False, True, True, False, True]
    logs = {
        "rewardbench": [line(k, ok, "alpacaeval-easy" if k < 3 else "math-prm") for k, ok in enumerate(mixed)],
        "rmbench": [line(k, k == 0 or (i + j) % 2 == 0, domain=d, cell=[i, j]) for k, d in enumerate(("chat", "math", "chat"))
                    for i in range(3) for j in range(3)],
        "rmb-pairwise": [line(k, ok, f"P/{'Helpfulness' if k % 2 else 'Harmlessness'}/x") for k, ok in enumerate(mixed)],
        "rmb-bon": [line(k // 2, ok, "B/Helpfulness/x", order=k % 2) for k, ok in enumerate(mixed)],
        "judgebench": [line(k // 2, ok, "mmlu-pro-law", order=k % 2, better="AB"[k % 2]) for k, ok in enumerate(mixed)],
        "pairs": [line(k, ok, "s", "chat" if k % 2 else "math") for k, ok in enumerate(mixed)],
    }  # fmt: skip
    blocks = {"rewardbench": ("sections", "subsets"), "rmbench": ("domains",), "rmb-pairwise": ("categories",),
              "rmb-bon": ("categories",), "judgebench": ("categories",), "pairs": ("domains",)}  # fmt: skip
    for benchmark, log in logs.items():
        s = ev.score(benchmark, log)
        assert s["score_ci"]["value"] == s["score"] and s["score_ci"]["low"] <= s["score"] <= s["score_ci"]["high"]
        for block in blocks[benchmark]:
            assert set(s[f"{block}_ci"]) == set(s[block]), benchmark
        assert ev.score(benchmark, list(reversed(log))) == s, benchmark  # the log's order does not matter
        assert json.loads(to_json(s))["score_ci"]["level"] == 0.95
    rm = ev.score("rmbench", logs["rmbench"])
    assert {"hard_ci", "normal_ci", "easy_ci"} <= set(rm) and rm["domains_ci"]["math"]["n"] == 9
    assert (rm["score_ci"]["n"], rm["score_ci"]["clusters"]) == (27, 3)
    # 30 items of 1 to 3 judgements: resampled accuracies are not on a coarse grid, so seeds differ
    big = [{**line(k, (k * 7 + o) % 5 > 1, "s", "chat", order=o), "item_size": k % 3 + 1}
           for k in range(30) for o in range(k % 3 + 1)]  # fmt: skip
    first, other_seed = ev.score("pairs", big)["score_ci"], ev.score("pairs", big, seed=1)["score_ci"]
    assert first == ev.score("pairs", big)["score_ci"] and other_seed != first and other_seed["value"] == first["value"]
    assert (first["n"], first["clusters"]) == (60, 30) and first["low"] < first["value"] < first["high"]
    assert not any(k.endswith("_ci") for k in ev.score("pairs", logs["pairs"], resamples=0))
    jb = ev.score("judgebench", logs["judgebench"])
    assert jb["categories_ci"]["knowledge"]["clusters"] == 3 and jb["categories_ci"]["knowledge"]["n"] == 6
    text = ev.format_scores(rm)
    assert f"score {rm['score']:.3f} [{rm['score_ci']['low']:.3f}, {rm['score_ci']['high']:.3f}]" in text
    assert "within each domain" in text and "hard " in text


def test_an_item_drawn_k_times_weighs_k_times():
    # JudgeBench: item 1 wrong (both games), item 2 right; the resample {1, 2, 2, 2} scores 3/4.
    one = [line(1, False, "mmlu-pro-law", better="A"), line(1, False, "mmlu-pro-law", order=1, better="B")]
    two = [line(2, True, "mmlu-pro-law", better="A"), line(2, True, "mmlu-pro-law", order=1, better="B")]
    assert scoring.score_judgebench(drawn_log([one, two, two, two]))["score"] == 0.75
    assert scoring.score_judgebench(one + two * 3)["score"] == 0.5  # the same lines under their own ids: one per item
    # A Ties prompt drawn twice stays two ref/tied pairs, each paired with its own draw.
    ties = [{"id": f"{kind}:7", "subset": "Ties", "kind": "rating", "response": r, "correct_response": r < n, "verdict": v,
             "correct": None, "domain": None} for kind, n, ratings in (("ref", 1, (9, 2)), ("tied", 2, (8, 8, 3)))
            for r, v in enumerate(ratings)]  # fmt: skip
    drawn = scoring.score_rewardbench2(drawn_log([ties, ties]))["ties"]
    assert (drawn["n_ref"], drawn["n_tied"], drawn["n_paired"]) == (2, 2, 2) and drawn["score"] == pytest.approx(1.01)


@pytest.mark.parametrize("name", list(LOGS))
def test_interval_width_matches_a_direct_reference_bootstrap(name):
    """The summary's 2,000-resample interval against the bootstrap written out (tests/synthetic_logs.py).

    The reference draws the same seeded items (the same units, ``random.Random(0)``), so any difference is
    how a resample is scored: before each draw had its own id, JudgeBench, Best-of-N and RewardBench 2
    widths were 0.72-0.89 of the reference's (bench/interval_widths.py: RESULT I1).
    """
    benchmark = LOGS[name]
    log = synthetic_log(name, n_items=16)
    ci = ev.score(benchmark, log)["score_ci"]
    _, strata = items_by_stratum(benchmark, log)
    # The units are the benchmark's items: both JudgeBench games, RM-Bench's 9 cells (chat and code ids
    # collide), a Best-of-N item's losers, a Ties prompt's ref and tied items.
    sizes = {len(item) for units in strata for item in units}
    expected = {"judgebench": {2}, "rmbench": {9}, "rewardbench2-pairwise": {3}, "rewardbench2-ties": {4, 7, 8, 9, 10}}
    assert sizes <= expected.get(name, sizes) and sum(map(len, strata)) == len({item_of(r) for r in log})
    low, high = reference_bounds(benchmark, strata, resamples=2000, seed=0)
    assert high > low and (ci["high"] - ci["low"]) / (high - low) == pytest.approx(1, abs=0.03)
