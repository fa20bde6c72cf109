"""Whole items only: a log cut at a random point scores exactly the items it holds whole, and says how many
it left out; position consistency pairs the two orders of one comparison."""

from __future__ import annotations

import random

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils.errors import DataError
from rmr1_utils.items import item_of, split_complete

from .synthetic_logs import LOGS, synthetic_log


@pytest.mark.parametrize("name", list(LOGS))
def test_a_log_cut_at_random_points_scores_only_its_whole_items(name):
    benchmark = LOGS[name]
    log = synthetic_log(name, n_items=12, both_orders=name in ("rmbench", "rewardbench"))
    rng = random.Random(f"cut:{name}")
    for cut in sorted(rng.sample(range(1, len(log)), 5)):
        # A killed run: lines in any order (chunks), cut anywhere.
        shuffled = rng.sample(log, len(log))[:cut]
        counts = {}
        for line in log:
            counts[item_of(line)] = counts.get(item_of(line), 0) + 1
        held = {}
        for line in shuffled:
            held[item_of(line)] = held.get(item_of(line), 0) + 1
        whole = {item for item, n in held.items() if n == counts[item]}
        expected = [line for line in log if item_of(line) in whole]
        kept, partial = split_complete(benchmark, shuffled)
        assert partial == len(held) - len(whole) and sorted(map(id, kept)) == sorted(map(id, expected)), cut
        if not whole:
            with pytest.raises(DataError, match="not one whole item to score"):
                ev.score(benchmark, shuffled, resamples=0)
            continue
        summary = ev.score(benchmark, shuffled, resamples=0)
        assert summary["score"] == ev.score(benchmark, expected, resamples=0)["score"]
        assert summary["n_incomplete_items"] == partial
        note = f"{partial} item{'s' if partial != 1 else ''} incomplete, excluded; resume the run to finish them"
        assert (note in summary.get("notes", [])) == (partial > 0)
        assert (f"note: {note}" in ev.format_scores(summary)) == (partial > 0)


def test_the_cases_of_the_issue_are_incomplete():
    # An RMB Best-of-N item missing a loser, a JudgeBench pair with one game, an RM-Bench item with 8 cells,
    # a RewardBench 2 item with two of its three comparisons, a Ties item with a rating missing.
    cases = {"rmb-bon": "rmb-bon", "judgebench": "judgebench", "rmbench": "rmbench", "rewardbench2-pairwise": "rewardbench2",
             "rewardbench2-ties": "rewardbench2"}  # fmt: skip
    for name, benchmark in cases.items():
        log = synthetic_log(name, n_items=8)
        first = item_of(log[0])
        cut = [line for k, line in enumerate(log) if k != 0]  # the first line of the first item is gone
        assert split_complete(benchmark, cut)[1] == 1, name
        assert all(item_of(line) != first for line in split_complete(benchmark, cut)[0])
        assert ev.score(benchmark, cut, resamples=0)["n_incomplete_items"] == 1


def test_logs_written_before_item_size_are_checked_by_structure():
    def strip(lines):
        return [{k: v for k, v in line.items() if k != "item_size"} for line in lines]

    rmbench = strip(synthetic_log("rmbench", n_items=4))
    assert split_complete("rmbench", rmbench[1:])[1] == 1  # 8 cells
    judgebench = strip(synthetic_log("judgebench", n_items=4))
    assert split_complete("judgebench", judgebench[1:])[1] == 1  # one game
    both = strip(synthetic_log("rewardbench", n_items=4, both_orders=True))
    assert split_complete("rewardbench", both[1:])[1] == 1  # one order of a both-orders run
    pairwise = strip(synthetic_log("rewardbench2-pairwise", n_items=4))
    assert split_complete("rewardbench2", pairwise[1:])[1] == 1  # two of three rejected responses
    ratings = strip(synthetic_log("rewardbench2-ties", n_items=4))
    assert split_complete("rewardbench2", ratings[1:])[1] == 1  # the ref item's correct answer unrated
    assert split_complete("rmbench", rmbench) == (rmbench, 0)


def test_position_consistency_pairs_the_two_orders_of_each_comparison():
    # RM-Bench in both orders, chat and code items with the same ids: 4 items x 9 cells = 36 comparisons.
    log = synthetic_log("rmbench", n_items=8, both_orders=True)
    log = [line for line in log if line["domain"] in ("chat", "code")]
    assert {line["id"] for line in log if line["domain"] == "chat"} == {line["id"] for line in log if line["domain"] == "code"}
    pairs: dict = {}
    for line in log:
        pairs.setdefault(line["key"].removesuffix("-swapped"), []).append(line)
    assert len(pairs) == 36 and all(len(p) == 2 for p in pairs.values())
    expected = sum(all(r["verdict"] is not None for r in p) and p[0]["correct"] == p[1]["correct"] for p in pairs.values()) / 36
    assert 0 < expected < 1
    assert ev.judge_quality(log)["position_consistency"] == pytest.approx(expected)
    # A judge that always says A is consistent on no comparison; one that is always right on all of them.
    always_a = [{**line, "verdict": "A", "correct": line["better_position"] == "A"} for line in log]
    assert ev.judge_quality(always_a)["position_consistency"] == 0.0
    right = [{**line, "verdict": line["better_position"], "correct": True} for line in log]
    assert ev.judge_quality(right)["position_consistency"] == 1.0
    # JudgeBench: the two games of a pair are one comparison.
    jb = synthetic_log("judgebench", n_items=10)
    games: dict = {}
    for line in jb:
        games.setdefault(line["id"], []).append(line)
    want = sum(all(r["verdict"] is not None for r in g) and g[0]["correct"] == g[1]["correct"] for g in games.values()) / 10
    assert ev.judge_quality(jb)["position_consistency"] == pytest.approx(want)
