"""``--scoring rmr1|official``: RM-R1's published rules against each benchmark's own generative scorer.

They differ on three benchmarks only (``scoring.SCORING_DIFFERENCES``): RewardBench v1 (the official
script reads ``[[A]]`` first and scores a judgement without either mark 0.5; RM-R1 needs exactly one
mark and scores the rest 0), HelpSteer3 (BR-RM's evaluation leaves unparsed verdicts out; we count
them wrong) and RewardBench 2's four-way parse (the first of ``[[A]]``–``[[D]]`` against exactly one).
Each rule is checked by hand here; ``test_official_conformance`` checks the official parsers against
the official package's own functions.
"""

from __future__ import annotations

import json

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils.judgement import first_mark_verdict
from rmr1_utils.scoring import SCORING_DIFFERENCES, score_helpsteer3, score_rewardbench

from .conftest import rmr1_in_process as cli

BOTH = "<answer>[[B]]</answer> ... on reflection [[A]]"


def rb_line(key, completion, better="A", subset="alpacaeval-easy", verdict="from-text"):
    if verdict == "from-text":
        verdict = ev.parse_judgement(completion).verdict  # RM-R1's rule: exactly one of [[A]] / [[B]]
    return {"key": key, "id": key, "benchmark": "rewardbench", "subset": subset, "domain": None, "better_position": better,
            "completion": completion, "verdict": verdict, "correct": verdict == better, "length_diff": 3}  # fmt: skip


def test_first_mark_is_the_official_parse():
    assert first_mark_verdict("x [[B]] y [[A]]") == "A"  # [[A]] is checked first, wherever it is
    assert first_mark_verdict("[[B]]") == "B" and first_mark_verdict("[[C]]") is None and first_mark_verdict(None) is None
    assert first_mark_verdict("[[D]] then [[C]]", "ABCD") == "C"
    assert ev.parse_judgement(BOTH).verdict is None  # RM-R1: both marks, no verdict


def test_rewardbench_official_reads_a_first_and_scores_no_verdict_half():
    log = [
        rb_line("1", "<answer>[[A]]</answer>"),  # right under both rules
        rb_line("2", BOTH),  # rmr1: no verdict, 0; official: A, right
        rb_line("3", BOTH, better="B"),  # rmr1: 0; official: A, wrong
        rb_line("4", "no mark at all"),  # rmr1: 0; official: error, 0.5
        rb_line("5", "<answer>[[B]]</answer>"),  # wrong under both
    ]
    rmr1, official = score_rewardbench(log), score_rewardbench(log, scoring="official")
    assert rmr1["subsets"]["alpacaeval-easy"] == pytest.approx(1 / 5) == rmr1["example_mean"]
    assert official["subsets"]["alpacaeval-easy"] == pytest.approx((1 + 1 + 0 + 0.5 + 0) / 5) == official["example_mean"]
    assert rmr1["notes"][-1] == "judgements without a verdict (rmr1 rule) score 0: 3 of 5"
    assert official["notes"][-1] == "judgements without a verdict (official rule) score 0.5: 1 of 5"
    # the summary names the rule, and the null baselines keep their own decisions under both rules
    summary = ev.score("rewardbench", log, resamples=50, scoring="official")
    assert summary["scoring"] == "official" and summary["scoring_rule"] == SCORING_DIFFERENCES["rewardbench"]["official"]
    assert summary["baselines"] == ev.score("rewardbench", log, resamples=0)["baselines"]  # no baseline ties here
    assert "  scoring: official: verdicts re-read from the completions" in ev.format_scores(summary)


def test_helpsteer3_official_leaves_unparsed_verdicts_out():
    log = [{**rb_line(str(k), text, verdict=verdict), "benchmark": "helpsteer3", "subset": "english", "domain": "stem"}
           for k, (text, verdict) in enumerate([("a", "A"), ("b", "B"), ("c", None), ("d", "A")])]  # fmt: skip
    rmr1, official = score_helpsteer3(log), score_helpsteer3(log, scoring="official")
    assert rmr1["score"] == pytest.approx(2 / 4) and official["score"] == pytest.approx(2 / 3)
    assert (rmr1["n"], rmr1["n_scored"], official["n"], official["n_scored"]) == (4, 4, 4, 3)
    assert official["domains"] == {"stem": pytest.approx(2 / 3)}
    assert official["notes"] == ["judgements without a parsed verdict left out (BR-RM's evaluation): 1 of 4"]


def four_way(item, completion, better):
    verdict = ev.rewardbench2.four_way_verdict(completion)
    return {"key": f"{item}-4way", "id": item, "benchmark": "rewardbench2", "subset": "Focus", "domain": None,
            "kind": "four-way", "better_position": better, "completion": completion, "verdict": verdict,
            "correct": verdict == better}  # fmt: skip


def test_rewardbench2_four_way_official_takes_the_first_of_a_to_d():
    log = [four_way("1", "[[C]]", "C"), four_way("2", "[[C]] or [[A]]", "A"), four_way("3", "[[D]] [[B]]", "D"),
           four_way("4", "nothing", "B")]  # fmt: skip
    rmr1 = ev.score("rewardbench2", log, resamples=0)
    official = ev.score("rewardbench2", log, resamples=0, scoring="official")
    assert rmr1["subsets"]["Focus"] == pytest.approx((1 + 0.25 + 0.25 + 0.25) / 4)
    assert official["subsets"]["Focus"] == pytest.approx((1 + 1 + 0 + 0.25) / 4)
    assert official["parse_rates"] == {"four-way": 0.75} and rmr1["parse_rates"] == {"four-way": 0.25}


def test_the_cli_states_the_rule_and_compare_refuses_another(tmp_path, capsys):
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in [rb_line("1", BOTH), rb_line("2", "[[A]]")]))
    code, out, _ = cli(capsys, "score", "--benchmark", "rewardbench", "--log", log, "--scoring", "official", "--resamples", "0")
    # Chat 1.0 and three missing sections (0): 0.25; under rmr1, Chat is 0.5
    assert code == 0 and "rewardbench: score 0.250" in out and "scoring: official: verdicts re-read" in out
    code, out, _ = cli(capsys, "score", "--benchmark", "rewardbench", "--log", log, "--resamples", "0", "--json")
    assert code == 0 and json.loads(out)["example_mean"] == 0.5 and json.loads(out)["scoring"] == "rmr1"
    code, _, err = cli(capsys, "score", "--compare", log, log, "--scoring", "official")
    assert code == 2 and err.strip() == (
        "rmr1 score: error: --compare scores by the rmr1 rules only: drop --scoring, or score each log with --log"
    )
    code, _, err = cli(capsys, "score", "--benchmark", "rewardbench", "--log", log, "--scoring", "paper")
    assert code == 2 and "--scoring: invalid choice: 'paper'" in err


def test_evaluate_takes_the_rule_and_the_log_rescores_either_way(tmp_path, capsys):
    from .test_benchmark_inputs import evaluate_with

    data = tmp_path / "rb.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{k}", "chosen": "good", "rejected": "bad", "subset": "hep-go", "id": k})
                            + "\n" for k in range(4)))  # fmt: skip
    summary = evaluate_with(lambda request: ["I cannot decide."], "rewardbench", data, tmp_path / "out", scoring="official")
    assert summary["scoring"] == "official" and summary["sections"] == {"Reasoning": 0.5}
    log = tmp_path / "out" / "log.jsonl"
    code, out, _ = cli(capsys, "score", "--benchmark", "rewardbench", "--log", log, "--resamples", "0", "--json")
    assert code == 0 and json.loads(out)["sections"] == {"Reasoning": 0.0}  # rmr1 (default): no verdict is wrong
    code, _, err = cli(capsys, "evaluate", "--benchmark", "rewardbench", "--data", data, "--out", tmp_path, "--scoring", "x")
    assert code == 2 and "--scoring: invalid choice: 'x'" in err


def test_accuracy_on_decided_judgements_leaves_rating_lines_out():
    """RewardBench 2 rating lines carry a verdict (the rating) but no right/wrong of their own (``correct: None``)."""
    from rmr1_utils.scoring import judge_quality

    log = [{"verdict": "7", "correct": None}, {"verdict": "3", "correct": None}, {"verdict": "A", "correct": True},
           {"verdict": "B", "correct": False}, {"verdict": "A", "correct": True},
           {"verdict": None, "correct": False}]  # fmt: skip
    log = [{"id": k, "key": str(k), **line} for k, line in enumerate(log)]
    quality = judge_quality(log)
    assert quality["decided_accuracy"] == 2 / 3 and quality["verdict_rate"] == 5 / 6
    assert judge_quality(log[:2])["decided_accuracy"] != judge_quality(log[:2])["decided_accuracy"]  # NaN: nothing to decide
