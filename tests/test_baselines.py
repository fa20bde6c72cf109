"""Null baselines (always-A, longer, shorter) on hand-made logs, scored by each benchmark's own aggregation."""

from __future__ import annotations

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils.baselines import baseline_log, baseline_verdict, baselines
from rmr1_utils.scoring import SCORERS, score_rewardbench
from rmr1_utils.summary import to_json


def line(item, better, length_diff, subset=None, domain="chat", verdict="A", **extra):
    return {"key": f"{item}-{extra.get('cell', extra.get('order', ''))}", "id": item, "subset": subset, "domain": domain,
            "better_position": better, "verdict": verdict, "correct": verdict == better, "length_diff": length_diff,
            "cell": None, "order": 0, **extra}  # fmt: skip


def test_three_baselines_by_hand_with_a_length_tie():
    log = [
        line(1, "A", 10),  # always-A right, longer right, shorter wrong
        line(2, "B", 5),  # A wrong, longer right (the better one is longer), shorter wrong
        line(3, "B", -7),  # A wrong, longer wrong, shorter right
        line(4, "A", 0),  # A right; equal lengths: no decision, wrong for both length baselines
    ]
    assert [baseline_verdict("longer", r) for r in log] == ["A", "B", "A", None]
    assert [baseline_verdict("shorter", r) for r in log] == ["B", "A", "B", None]
    found = baselines(log, SCORERS["pairs"])
    assert found["always_a"] == {"score": 0.5, "domains": {"chat": 0.5}}
    assert found["longer"] == {"score": 0.5, "domains": {"chat": 0.5}, "ties": 1}
    assert found["shorter"] == {"score": 0.25, "domains": {"chat": 0.25}, "ties": 1}
    summary = ev.score("pairs", log)
    assert summary["baselines"] == found
    text = ev.format_scores(summary)
    assert "null baselines (same scoring): always-A 0.500, longer 0.500, shorter 0.250 (1 length ties)" in text
    assert "| A 0.500  long 0.500  short 0.250" in text


def test_rmbench_baselines_follow_the_style_matrix():
    # Chosen and rejected of one style have the same length and styles grow longer (concise < detailed <
    # markdown), so "longer" is right exactly on the easy triangle (i > j) and ties on the diagonal.
    lengths = [10, 50, 90]
    log = [line(1, "A" if (i + j) % 2 == 0 else "B", lengths[i] - lengths[j], subset="chat", cell=[i, j])
           for i in range(3) for j in range(3)]  # fmt: skip
    found = ev.score("rmbench", log)["baselines"]
    assert found["longer"] == {"score": pytest.approx(1 / 3), "hard": 0.0, "normal": 0.0, "easy": 1.0,
                               "domains": {"chat": pytest.approx(1 / 3)}, "ties": 3}  # fmt: skip
    assert found["shorter"]["hard"] == 1.0 and found["shorter"]["easy"] == 0.0
    # always-A: right where the better response was shown first: hard 1/3, normal 1, easy 1/3
    assert found["always_a"]["score"] == pytest.approx((1 / 3 + 1 + 1 / 3) / 3)
    assert (found["always_a"]["hard"], found["always_a"]["normal"]) == (pytest.approx(1 / 3), 1.0)


def test_best_of_n_and_judgebench_item_rules_apply_to_baselines():
    goal = "BoN_set/Helpfulness/Chat/x"
    bon = [
        line("x", "A", 4, goal, order=0),
        line("x", "B", 6, goal, order=1),  # always-A beats one loser of two: item lost
        line("y", "A", 2, goal, order=0),
        line("y", "A", -3, goal, order=1),
    ]  # longer loses to the second loser of y
    found = ev.score("rmb-bon", bon)["baselines"]
    assert found["always_a"]["score"] == 0.5 and found["always_a"]["categories"] == {"Helpfulness": 0.5}
    assert found["longer"]["score"] == 0.5 and found["shorter"]["score"] == 0.0
    # JudgeBench, both orders: always-A gets +1 -1 = 0 on every pair; a longer better response +2
    jb = [line("p", "A", 9, "livebench-math", order=0), line("p", "B", 9, "livebench-math", order=1)]
    found = ev.score("judgebench", jb)["baselines"]
    assert found["always_a"]["score"] == 0 and found["longer"]["score"] == 1 and found["shorter"]["score"] == 0


def test_rewardbench_baseline_uses_the_section_weights():
    log = [line(1, "A", 3, "alpacaeval-easy"), line(2, "B", 3, "alpacaeval-easy"), line(3, "A", 3, "mt-bench-easy"),
           line(4, "B", 3, "math-prm"), line(5, "A", 3, "hep-python")]  # fmt: skip
    found = ev.score("rewardbench", log)["baselines"]["always_a"]
    chat = (0.5 * 100 + 1.0 * 28) / 128  # alpacaeval-easy 1/2 right, mt-bench-easy right
    reasoning = 164 / (984 + 164)  # math-prm wrong (weight 984), hep-python right (164)
    assert found["sections"] == {"Chat": pytest.approx(chat), "Reasoning": pytest.approx(reasoning)}
    assert found["score"] == pytest.approx((chat + reasoning) / 4)  # Chat Hard and Safety missing: 0
    assert found["score"] == score_rewardbench(baseline_log("always_a", log))["score"]
    assert found["example_mean"] == pytest.approx(3 / 5)


def test_logs_without_length_diff_have_no_length_baselines():
    log = [{k: v for k, v in line(1, "A", 3).items() if k != "length_diff"}]
    summary = ev.score("pairs", log)
    assert summary["baselines"]["longer"] is None and summary["baselines"]["shorter"] is None
    assert summary["baselines"]["always_a"]["score"] == 1.0
    assert "null baselines (same scoring): always-A 1.000\n" in ev.format_scores(summary)
    assert to_json(summary)  # strict JSON: None, never NaN
