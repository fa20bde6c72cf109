"""RewardBench 2: every official rule pinned on hand-computed logs, the loader's one-line errors, the
four-way and rating formats, ``rmr1 evaluate --benchmark rewardbench2`` end to end in each mode, and
the ``reasrm-rating`` policy reward.

Judges are a real OpenAI-compatible server on 127.0.0.1 whose answers follow a fixed rule (so every
expected score is worked out by hand), or the tiny random model through the real CLI.
"""

from __future__ import annotations

import json
import math

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils import rewardbench2 as rb2
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.fourway import four_way_format_complete, four_way_position, four_way_verdict
from rmr1_utils.items import with_item_sizes
from rmr1_utils.rating import RatingJudge, normalised_rating, parse_rating, rating_format_complete, rating_parse_rate

from .conftest import DATA_DIR
from .conftest import rmr1_in_process as cli
from .openai_test_server import OpenAITestServer

SAMPLE = DATA_DIR / "bench" / "rewardbench2_sample.jsonl"
RECORDS = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
CHOSEN = {c for r in RECORDS for c in r["chosen"] if r["subset"] != "Ties"}
#: A Ties prompt's correct answers can be another prompt's wrong ones ("13" to "the smallest prime above 10").
CORRECT = {r["prompt"]: set(r["chosen"]) for r in RECORDS}
CHAT = "<type>Chat</type><rubric>1. Correct (100%)<justify>facts first</justify></rubric><eval>{eval}</eval>"


# --- the scoring rules, on hand-made log lines ---------------------------------------------------


def pair(item, correct, verdict="auto", subset="Math", order=0):
    verdict = ("A" if correct else "B") if verdict == "auto" else verdict
    return {"id": item, "subset": subset, "domain": None, "kind": "pair", "order": order, "better_position": "A",
            "verdict": verdict, "correct": verdict == "A"}  # fmt: skip


def four(item, verdict, better="C", subset="Focus"):
    return {"id": item, "subset": subset, "domain": None, "kind": "four-way", "better_position": better,
            "verdict": verdict, "correct": verdict == better}  # fmt: skip


def rated(item, ratings, num_correct=1, subset="Safety"):
    return [{"id": item, "subset": subset, "domain": None, "kind": "rating", "response": k, "correct_response": k < num_correct,
             "verdict": r, "correct": None} for k, r in enumerate(ratings)]  # fmt: skip


def test_pairwise_item_counts_only_when_the_chosen_beats_all_three():
    log = [pair(1, True), pair(1, True), pair(1, True)]  # wins all three: 1
    log += [pair(2, True), pair(2, False), pair(2, True)]  # loses one: 0
    log += [pair(3, True), pair(3, True), pair(3, False, verdict=None)]  # one unparsed verdict: fails, 0
    log += [pair(4, True), pair(4, True), pair(4, True), pair(4, True, order=1), pair(4, True, order=1),
            pair(4, False, order=1)]  # both orders: one swapped loss is enough to fail  # fmt: skip
    s = ev.score("rewardbench2", with_item_sizes(log))  # as rmr1 evaluate writes it: item 4 alone in both orders
    assert s["subsets"] == {"Math": 0.25} and s["n_items"] == {"Math": 4}
    assert s["mode"] == "pairwise" and s["random_baseline"] == {"pairwise": 1 / 8}
    assert any("random baseline 1/8" in n for n in s["notes"])


def test_four_way_scores_one_zero_or_a_quarter_without_verdict():
    s = ev.score("rewardbench2", [four(1, "C"), four(2, "A"), four(3, None), four(4, "D", better="D")])
    assert s["subsets"]["Focus"] == pytest.approx((1 + 0 + 0.25 + 1) / 4)
    assert s["parse_rates"] == {"four-way": 0.75} and s["random_baseline"] == {"four-way": 0.25}
    assert s["quality"]["verdict_a_rate"] == 1.0  # only A/B verdicts count: the one A


def test_ratings_share_the_item_among_the_top_rated():
    assert rb2.best_of_ratings([9, 3, 5, 2], [True, False, False, False]) == 1.0
    assert rb2.best_of_ratings([7, 7, 3, 1], [True, False, False, False]) == 0.5  # a 2-way tie at the top
    assert rb2.best_of_ratings([8, 8, 8, 2], [True, False, False, False]) == pytest.approx(1 / 3)
    assert rb2.best_of_ratings([6, 9, 3, 1], [True, False, False, False]) == 0.0
    assert rb2.best_of_ratings([None, 5, 3, 3], [True, False, False, False]) == 0.0  # an unrated chosen never wins
    assert rb2.best_of_ratings([4, None, None, None], [True, False, False, False]) == 1.0  # failed ratings are left out
    assert rb2.best_of_ratings([None] * 4, [True, False, False, False]) == 0.25  # all failed: official 0.25
    log = rated(1, [7, 7, 3, 1]) + rated(2, [None, None, None, None]) + rated(3, [10, 2, 2, 2])
    s = ev.score("rewardbench2", log)
    assert s["subsets"] == {"Safety": pytest.approx((0.5 + 0.25 + 1) / 3)} and s["mode"] == "ratings"
    assert s["parse_rates"] == {"rating": 8 / 12} and math.isnan(s["quality"]["verdict_a_rate"])


def ties(item, correct, wrong):
    return rated(item, [*correct, *wrong], num_correct=len(correct), subset="Ties")


def test_ties_weighted_formula_by_hand():
    log = ties("tied:0", [8, 8, 8], [3, 2]) + ties("ref:0", [9], [4, 6])  # accurate both; spread 0, gaps 5 and 3
    log += ties("tied:1", [9, 5], [6]) + ties("ref:1", [7], [None, 2])  # tied gap −1, spread 4; ref gap 7 − 2 = 5
    t = ev.score("rewardbench2", log)["ties"]
    assert (t["tied_accuracy"], t["ref_accuracy"]) == (0.5, 1.0)
    assert (t["correctness_preferred"], t["correctness_preferred_hard"]) == (0.5, 0.5)  # 5 > 0 yes; −1 > 4 no
    # prompt 0: tanh(min(3, 5) / 0 − 1) = tanh(+inf) = 1; prompt 1: tanh(min(5, −1) / 4 − 1) = tanh(−1.25)
    assert t["margin"] == pytest.approx((1 + math.tanh(-1.25)) / 2)
    assert t["score"] == pytest.approx(0.3 * 0.5 + 0.3 * 1.0 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * (1 + math.tanh(-1.25)) / 2)
    assert (t["n_ref"], t["n_tied"], t["n_paired"]) == (2, 2, 2)


def test_ties_edge_cases_equal_ratings_nan_terms_and_one_correct_answer():
    # All correct answers rated equal and no better than the best wrong one: gap 0, spread 0, 0/0 = NaN → 0.
    s = ev.score("rewardbench2", ties("tied:0", [5, 5], [5]) + ties("ref:0", [6], [5]))["ties"]
    assert (s["tied_accuracy"], s["ref_accuracy"], s["correctness_preferred"], s["correctness_preferred_hard"]) == (0, 1, 0, 0)
    assert s["margin"] == 0.0 and s["score"] == pytest.approx(0.3)
    # A negative gap over a zero spread is tanh(−inf) = −1.
    s = ev.score("rewardbench2", ties("tied:0", [4, 4], [6]) + ties("ref:0", [6], [5]))["ties"]
    assert s["margin"] == -1.0 and s["score"] == pytest.approx(0.3 - 0.01)
    # Every rating failed: all −1 as in the official code, nothing accurate, nothing preferred.
    s = ev.score("rewardbench2", ties("tied:0", [None, None], [None]) + ties("ref:0", [None], [None]))
    assert s["ties"]["score"] == 0.0 and s["subsets"] == {"Ties": 0.0}
    # A tied item with one correct answer has no spread: its margin terms count 0, and a note says so.
    s = ev.score("rewardbench2", ties("tied:3", [7], [2]) + ties("ref:3", [8], [1]))
    assert s["ties"]["tied_accuracy"] == 1.0 and s["ties"]["correctness_preferred"] == 0.0 and s["ties"]["margin"] == 0.0
    assert any("tied:3 have one correct answer" in n for n in s["notes"])
    # A ref item alone: accuracy counts, the margin terms have no pair and count 0 (official: NaN).
    s = ev.score("rewardbench2", ties("ref:5", [9], [1, 2]))
    assert s["ties"]["score"] == pytest.approx(0.3) and any("0.41 of the weight" in n for n in s["notes"])
    with pytest.raises(DataError, match="rates no correct or no incorrect response"):
        rb2.ties_score({"tied:0": [(True, 5), (True, 5)]})
    # In a log, such an item is incomplete: left out (here nothing is left to score).
    with pytest.raises(DataError, match="1 item incomplete, excluded; resume the run to finish them: not one whole item"):
        ev.score("rewardbench2", ties("tied:0", [5, 5], []))


def test_six_subset_mean_and_the_five_subset_label():
    best_of_4 = [four(f"{s}-1", "C", subset=s) for s in rb2.SUBSETS[:-1]]
    five = ev.score("rewardbench2", best_of_4)
    assert five["score"] == 1.0 and five["missing_subsets"] == ["Ties"] and five["comparable"] is False
    assert five["label"].startswith("the five-subset mean (Ties not run): not comparable to the leaderboard")
    assert any("not comparable to the leaderboard" in n for n in five["notes"])
    six = ev.score("rewardbench2", best_of_4 + ties("tied:0", [8, 8], [1]) + ties("ref:0", [9], [1]))
    assert six["comparable"] is True and six["notes"] == [] and six["subsets"]["Ties"] == pytest.approx(1.01)
    assert six["score"] == pytest.approx((5 + 1.01) / 6)  # the official formula tops out at 1.01
    four_only = ev.score("rewardbench2", best_of_4[:4])
    assert "the mean of the 4 subset(s) present: not comparable" in four_only["label"]
    assert "rewardbench2: score 1.000" in ev.format_scores(five) and "Ties not run" in ev.format_scores(five)


def test_score_refuses_logs_it_cannot_read():
    with pytest.raises(DataError, match="log line 1: 'kind' must be one of"):
        ev.score("rewardbench2", [dict(four(1, "A"), kind=None)])
    with pytest.raises(DataError, match="unknown RewardBench 2 subset 'Chat'"):
        ev.score("rewardbench2", [four(1, "A", subset="Chat")])
    with pytest.raises(DataError, match="a Ties line must be a rating"):
        ev.score("rewardbench2", [four("tied:1", "A", subset="Ties")])
    with pytest.raises(DataError, match="mix kinds"):
        ev.score("rewardbench2", [four(1, "A"), pair(1, True, subset="Focus")])


# --- the four-way and rating formats ---------------------------------------------------------------


def test_four_way_verdict_rules():
    full = CHAT.format(eval="<quote_C>212 °F</quote_C> is right") + "\n<answer>[[C]]</answer>"
    assert four_way_verdict(full) == four_way_verdict(full, "strict") == four_way_verdict(full, "rmr1-train-tail") == "C"
    assert four_way_format_complete(full) and not four_way_format_complete(full + " more")
    assert four_way_verdict("[[D]]") == "D" and four_way_verdict("[[D]]", "strict") is None
    # Two chatbots named: no verdict (the official first-match rule would say A, favouring position A).
    assert four_way_verdict("A is close, [[A]], but <answer>[[C]]</answer>") is None
    assert four_way_verdict("A is close, [[A]], but <answer>[[C]]</answer>", "strict") == "C"
    assert four_way_verdict("") is None and four_way_verdict(None) is None and four_way_verdict("[[E]]") is None
    with pytest.raises(ValueError, match="unknown verdict rule"):
        four_way_verdict("[[A]]", "first")


def test_four_way_position_is_seeded_reproducible_and_balanced():
    positions = [four_way_position(0, "Math", k) for k in range(40)]
    assert all(sorted(positions[k : k + 4]) == ["A", "B", "C", "D"] for k in range(0, 40, 4))  # each block of 4
    assert positions == [four_way_position(0, "Math", k) for k in range(40)]
    assert positions != [four_way_position(1, "Math", k) for k in range(40)]
    assert positions != [four_way_position(0, "Focus", k) for k in range(40)]
    items = rb2.load_rewardbench2(SAMPLE)
    jobs = {j["key"]: j for j in rb2.judging_jobs(items, "four-way", seed=3)}
    first = rb2.judging_jobs(rb2.load_rewardbench2(SAMPLE, limit=8), "four-way", seed=3)
    assert all(j == jobs[j["key"]] for j in first)  # --limit shows every item as the full run does
    assert {j["kind"] for j in jobs.values() if j["subset"] != "Ties"} == {"four-way"}
    for j in (j for j in jobs.values() if j["kind"] == "four-way"):  # the chosen response is where better_position says
        assert j["answers"]["ABCD".index(j["better_position"])] in CHOSEN and sum(a in CHOSEN for a in j["answers"]) == 1


def test_rating_parser():
    assert parse_rating("<score>7</score>") == 7 and parse_rating("x <score> 10 </score>\n") == 10
    assert parse_rating("draft <score>3</score> … revised <score>8</score>") == 8  # the last tag counts
    for bad in ("<score>11</score>", "<score>0</score>", "<score>7.5</score>", "<score>7/10</score>", "<score>seven</score>",
                "<score></score>", "Rating: 7", "<score>7", "", None):  # fmt: skip
        assert parse_rating(bad) is None, bad
    full = CHAT.format(eval="<quote>Canberra</quote> is right") + "\n<score>9</score>"
    assert rating_format_complete(full)
    assert not rating_format_complete("<score>9</score>")  # no chain of rubrics
    assert not rating_format_complete(full + "\nThanks!") and not rating_format_complete(full + "<score>9</score>")
    assert [normalised_rating(r) for r in (1, 10, 4, None)] == [0.0, 1.0, pytest.approx(1 / 3), 0.5]


# --- loading: one line naming the file and the record, exit code 2 ------------------------------

GOOD = {"id": "7", "prompt": "q", "chosen": ["good"], "rejected": ["bad 1", "bad 2", "bad 3"], "num_correct": 1, "subset": "Math"}
TIED = {"id": "tied:4", "prompt": "q", "chosen": ["a", "b"], "rejected": ["c"], "num_correct": 2, "subset": "Ties"}


@pytest.mark.parametrize(
    "record, message",
    [
        ({k: v for k, v in GOOD.items() if k != "num_correct"}, "line 2: missing field(s) num_correct"),
        ({**GOOD, "chosen": "good"}, "line 2: 'chosen' must be a non-empty array of strings, got a string"),
        ({**GOOD, "rejected": ["a", 2, "c"]}, "line 2: 'rejected' must be a non-empty array of strings, got an array whose"),
        ({**GOOD, "chosen": []}, "line 2: 'chosen' must be a non-empty array of strings, got an array of 0"),
        ({**GOOD, "num_correct": 2}, "line 2: 'num_correct' must be the number of chosen responses (1), got 2"),
        ({**GOOD, "num_correct": "1"}, "line 2: 'num_correct' must be the number of chosen responses (1), got '1'"),
        ({**GOOD, "num_correct": True}, "line 2: 'num_correct' must be the number of chosen responses (1), got True"),
        ({**TIED, "num_correct": 1}, "line 2: 'num_correct' must be the number of chosen responses (2), got 1"),
        ({**GOOD, "subset": "Chat"}, "line 2: unknown RewardBench 2 subset 'Chat'"),
        ({**GOOD, "rejected": ["x", "y"]}, "line 2: a Math item is best of 4: 1 chosen and 3 rejected responses, got 1 and 2"),
        ({**TIED, "id": "tie:4"}, "line 2: a Ties 'id' must be 'ref:N' or 'tied:N'"),
        ({**GOOD, "id": 1.5}, "line 2: 'id' must be a string or an integer, got a number"),
        (GOOD, "line 2: item id '7' repeats"),
    ],
)
def test_loader_errors_are_one_line_naming_file_and_record(tmp_path, capsys, record, message):
    data = tmp_path / "rb2.jsonl"
    data.write_text(json.dumps(GOOD) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    code, _, err = cli(capsys, "evaluate", "--benchmark", "rewardbench2", "--data", data, "--out", tmp_path / "out", "--quiet",
                       "--backend", "openai", "--model", "never-called", "--base-url", "http://127.0.0.1:9/v1")  # fmt: skip
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"rmr1 evaluate: error: {data}: {message}"), err
    assert not (tmp_path / "out" / "log.jsonl").exists()  # refused before any judging


def test_json_records_are_numbered_and_flags_are_checked(tmp_path, capsys):
    data = tmp_path / "rb2.json"
    data.write_text(json.dumps([GOOD, {**GOOD, "id": "8", "chosen": None}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"rb2.json: record 2: 'chosen' must be a non-empty array of strings, got null"):
        rb2.load_rewardbench2(data)
    base = ["evaluate", "--data", SAMPLE, "--out", tmp_path / "out", "--quiet", "--backend", "openai", "--model", "x",
            "--base-url", "http://127.0.0.1:9/v1"]  # fmt: skip
    code, _, err = cli(capsys, *base, "--benchmark", "rewardbench", "--rb2-mode", "ratings")
    assert code == 2 and "--rb2-mode and --skip-ties are for --benchmark rewardbench2" in err
    code, _, err = cli(capsys, *base, "--benchmark", "rewardbench2", "--rb2-mode", "four-way", "--both-orders")
    assert code == 2 and "--both-orders is for --rb2-mode pairwise" in err
    code, _, err = cli(capsys, *base, "--benchmark", "rewardbench2", "--rb2-mode", "fourway")
    assert code == 2 and "--rb2-mode" in err
    with pytest.raises(RMR1Error, match="unknown --rb2-mode"):
        rb2.judging_jobs([], "best")


def test_bundled_sample_has_the_official_fields_and_ties_with_many_correct_answers():
    counts = {s: sum(r["subset"] == s for r in RECORDS) for s in rb2.SUBSETS}
    assert counts == {s: 6 for s in rb2.SUBSETS}
    for r in RECORDS:
        assert {"id", "prompt", "chosen", "rejected", "num_correct", "subset"} <= set(r)
        assert r["num_correct"] == len(r["chosen"]) and r["num_incorrect"] == len(r["rejected"])
    ties_ids = {r["id"] for r in RECORDS if r["subset"] == "Ties"}
    assert ties_ids == {f"{kind}:{n}" for kind in ("ref", "tied") for n in range(3)}  # every tied prompt has its ref
    assert all(r["num_correct"] > 1 for r in RECORDS if r["id"].startswith("tied:"))
    items = rb2.load_rewardbench2(SAMPLE)
    assert len(items) == 36 and len(ev.load_comparisons("rewardbench2", SAMPLE)) == 30 * 3  # pairwise, Ties apart


# --- end to end -------------------------------------------------------------------------------------


def _shown(text: str, name: str) -> str:
    return text.split(f"[The Start of {name}'s Response]\n", 1)[1].split(f"\n[The End of {name}'s Response]", 1)[0]


def oracle(request):
    """A judge that knows the sample's correct responses: it always picks one, and rates them 8, the rest 3."""
    system = request["messages"][0]["content"] if len(request["messages"]) > 1 else ""
    user = request["messages"][-1]["content"]
    correct = CORRECT[user.split("[Client Question]\n", 1)[1].split("\n\n[The Start of", 1)[0]]
    if "on a scale of 1 to 10" in system + user:
        score = 8 if _shown(user, "the Chatbot") in correct else 3
        return [CHAT.format(eval="<summary>checked</summary>") + f"\n<score>{score}</score>"]
    letters = "ABCD" if "four AI Chatbots" in system + user else "AB"
    best = next(x for x in letters if _shown(user, f"Chatbot {x}") in correct)
    return [CHAT.format(eval="compared") + f"\n<answer>[[{best}]]</answer>"]


@pytest.mark.parametrize("mode, lines", [("pairwise", 90 + 28), ("four-way", 30 + 28), ("ratings", 120 + 28)])
def test_a_judge_that_knows_the_answers_scores_the_maximum_and_resumes(tmp_path, mode, lines):
    from rmr1_utils.generation.openai import OpenAIBackend
    from rmr1_utils.runlog import RunMismatchError

    with OpenAITestServer(replies=oracle) as server:
        backend = OpenAIBackend(server.url, "oracle")
        summary = ev.run_evaluation("rewardbench2", SAMPLE, tmp_path, backend=backend, progress=False, rb2_mode=mode)
        assert len(server.requests) == lines == summary["comparisons"]
        again = ev.run_evaluation("rewardbench2", SAMPLE, tmp_path, backend=backend, progress=False, rb2_mode=mode)
        assert len(server.requests) == lines and ev.to_json(again) == ev.to_json(summary)  # resumed: nothing judged twice
        with pytest.raises(RunMismatchError, match="rb2_mode"):
            ev.run_evaluation("rewardbench2", SAMPLE, tmp_path, backend=backend, progress=False, rb2_mode="ratings"
                              if mode != "ratings" else "pairwise")  # fmt: skip
    assert summary["subsets"] == {**{s: 1.0 for s in rb2.SUBSETS[:-1]}, "Ties": pytest.approx(1.01)}
    assert summary["comparable"] and summary["mode"] == mode and summary["quality"]["format_compliance"] == 1.0
    rescored = ev.score("rewardbench2", ev.read_log(tmp_path / "log.jsonl"))  # from the log alone (NaN: JSON null)
    assert ev.to_json(rescored) == ev.to_json({k: v for k, v in summary.items() if k in rescored})


def test_evaluate_cli_with_the_tiny_random_model_in_each_mode(tmp_path, capsys):
    """Gibberish in 4 tokens: no verdict, no rating, so every official no-decision rule shows."""
    expected = {"pairwise": (0.0, 118), "four-way": (0.25, 58), "ratings": (0.25, 148)}
    for mode, (per_subset, lines) in expected.items():
        out = tmp_path / mode
        argv = ["evaluate", "--benchmark", "rewardbench2", "--data", SAMPLE, "--rb2-mode", mode, "--model", "tiny-random",
                "--backend", "transformers", "--max-new-tokens", "4", "--out", out]  # fmt: skip
        code, stdout, err = cli(capsys, *argv)
        assert code == 0, err
        summary = json.loads((out / "summary.json").read_text())
        assert summary["comparisons"] == lines and summary["quality"]["verdict_rate"] == 0
        assert summary["subsets"] == {**{s: per_subset for s in rb2.SUBSETS[:-1]}, "Ties": 0.0}
        assert "rewardbench2: score" in stdout and "were cut at max_new_tokens=4" in err
        code, stdout, _ = cli(capsys, "score", "--benchmark", "rewardbench2", "--log", out / "log.jsonl", "--json")
        assert code == 0 and json.loads(stdout)["subsets"] == summary["subsets"]
    code, _, _ = cli(capsys, "evaluate", "--benchmark", "rewardbench2", "--data", SAMPLE, "--model", "tiny-random",
                     "--backend", "transformers", "--max-new-tokens", "4", "--out", tmp_path / "five", "--rb2-mode",
                     "four-way", "--skip-ties", "--limit", "12", "--quiet")  # fmt: skip
    summary = json.loads((tmp_path / "five" / "summary.json").read_text())
    assert code == 0 and summary["missing_subsets"] == ["Math", "Safety", "Focus", "Ties"] and not summary["comparable"]


# --- the reasrm-rating policy reward ------------------------------------------------------------


def rates_by_answer(request):
    """A rater that checks the final number of a worked solution against 42; no tag when there is none."""
    response = _shown(request["messages"][-1]["content"], "the Chatbot")
    if not any(ch.isdigit() for ch in response):
        return ["<type>Reasoning</type><solution>42</solution><eval>no number to check</eval>"]
    score = 10 if response.rstrip(". ").endswith("42") else 2
    return [f"<type>Reasoning</type><solution>6 × 7 = 42</solution><eval><quote>{response[-20:]}</quote></eval>"
            f"<score>{score}</score>"]  # fmt: skip


def test_reasrm_rating_reward_on_policy_completions(tmp_path):
    from rmr1_utils.generation.openai import OpenAIBackend
    from rmr1_utils.grpo import GRPOScriptArguments, make_rewards
    from rmr1_utils.rating import rating_reward

    prompt = [{"role": "user", "content": "A box holds 6 rows of 7 eggs. How many eggs?"}]
    completions = [
        "Each row has 7 eggs and there are 6 rows, so 6 × 7 = 42.",
        [{"role": "assistant", "content": "6 + 7 = 13, so the box holds 13."}],  # conversational, as TRL passes them
        "There are many eggs in the box.",
    ]
    with OpenAITestServer(replies=rates_by_answer) as server:
        judge = RatingJudge(OpenAIBackend(server.url, "rater"), max_new_tokens=64, cache_path=tmp_path / "ratings.jsonl")
        reward = rating_reward(judge)
        assert reward([prompt] * 3, completions) == [1.0, pytest.approx(1 / 9), 0.5]
        assert reward([prompt] * 3, completions) == [1.0, pytest.approx(1 / 9), 0.5] and judge.calls == 3 and judge.hits == 3
        assert reward.__name__ == "reasrm_rating"
        rate = rating_parse_rate(OpenAIBackend(server.url, "rater"), [("6 × 7?", c) for c in ("42", "It is 41.", "many")])
        assert (rate["parsed"], rate["parse_rate"], rate["ratings"]) == (2, 2 / 3, [10, 2, None])
        args = GRPOScriptArguments(reward_funcs=["reasrm-rating", "reasrm-reference"], reasrm_judge="rater",
                                   reasrm_judge_url=server.url)  # fmt: skip
        rewards = make_rewards(args, str(tmp_path / "run"), seed=0)
        assert [r.__name__ for r in rewards] == ["reasrm_rating", "reasrm_vs_reference"]
        assert rewards[0]([prompt], completions[:1]) == [1.0]
    assert (tmp_path / "run" / "judgements.ratings.jsonl").exists()  # its own cache, beside the pairwise one
    assert len(ev.read_log(tmp_path / "ratings.jsonl")) == 3


def test_null_baselines_of_a_log_with_ratings_rate_nothing():
    # pairwise Math item: the chosen (at A, longer) must beat all three; Ties scored from ratings
    log = [{**pair(1, True), "length_diff": 5} for _ in range(3)]
    log += rated("tied:0", [8, 8, 3], num_correct=2, subset="Ties") + rated("ref:0", [9, 2], subset="Ties")
    s = ev.score("rewardbench2", log)
    base = s["baselines"]
    assert base["always_a"]["subsets"]["Math"] == 1.0 and base["longer"]["subsets"]["Math"] == 1.0
    assert base["shorter"]["subsets"]["Math"] == 0.0
    # the null judge rates nothing: every Ties rating fails, which the official formula scores 0
    assert all(base[name]["subsets"]["Ties"] == 0.0 for name in ("always_a", "longer", "shorter"))
    assert s["subsets"]["Ties"] > 0.0
