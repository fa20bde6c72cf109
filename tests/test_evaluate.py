"""Every official scoring rule pinned on hand-made logs with known answers; loaders on the bundled samples."""

from __future__ import annotations

import json

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils import scoring
from rmr1_utils.errors import DataError

from .conftest import DATA_DIR

BENCH = DATA_DIR / "bench"


def line(item, correct, subset=None, domain=None, verdict="auto", order=0, cell=None, better="A"):
    if verdict == "auto":
        verdict = better if correct else ("B" if better == "A" else "A")
    return {"id": item, "subset": subset, "domain": domain, "order": order, "cell": cell, "better_position": better,
            "verdict": verdict, "correct": verdict == better, "format_complete": verdict is not None}  # fmt: skip


def test_rewardbench_sections_use_official_example_counts():
    log = [
        line(1, True, "alpacaeval-easy"), line(2, False, "alpacaeval-easy"),  # subset acc 0.5, weight 100
        line(3, True, "mt-bench-easy"),  # 1.0, weight 28
        line(4, True, "math-prm"),  # 1.0, weight 984 (upweighted from 447)
        line(5, False, "hep-python"),  # 0.0, weight 164
    ]  # fmt: skip
    s = ev.score("rewardbench", log)
    assert s["subsets"] == {"alpacaeval-easy": 0.5, "hep-python": 0.0, "math-prm": 1.0, "mt-bench-easy": 1.0}
    assert s["sections"]["Chat"] == pytest.approx((0.5 * 100 + 1.0 * 28) / 128)
    assert s["sections"]["Reasoning"] == pytest.approx(984 / (984 + 164))
    # Chat Hard and Safety are missing: they count 0 in the mean of the four sections (official rule).
    assert s["score"] == pytest.approx(((0.5 * 100 + 28) / 128 + 984 / 1148) / 4)
    assert s["missing_sections"] == ["Chat Hard", "Safety"] and "Chat Hard, Safety" in s["notes"][0]
    assert s["example_mean"] == pytest.approx(3 / 5)
    assert ev.REWARDBENCH_EXAMPLE_COUNTS["xstest-should-refuse"] == 154
    assert ev.REWARDBENCH_EXAMPLE_COUNTS["xstest-should-respond"] == 250
    with pytest.raises(DataError, match="unknown RewardBench subset"):
        ev.score("rewardbench", [line(1, True, "alpaca-typo")])


def test_rmbench_triangles_and_domain_means():
    cells = {(0, 1): True, (0, 2): True, (1, 2): True, (0, 0): True, (1, 1): False, (2, 2): False,
             (1, 0): False, (2, 0): False, (2, 1): False}  # fmt: skip
    log = [line(1, ok, domain="chat", cell=list(c)) for c, ok in cells.items()]
    log += [line(2, True, domain="safety", cell=[i, j]) for i in range(3) for j in range(3)]
    s = ev.score("rmbench", log)
    chat = s["domains"]["chat"]
    assert (chat["hard"], chat["normal"], chat["easy"]) == (1.0, pytest.approx(1 / 3), 0.0)
    assert chat["score"] == pytest.approx(4 / 9)
    assert s["domains"]["safety"]["score"] == 1.0
    assert s["score"] == pytest.approx((4 / 9 + 1) / 2)
    assert s["hard"] == 1.0 and s["easy"] == 0.5


def test_rmb_pairwise_and_best_of_n():
    pairwise = [line(1, True, "Pairwise_set/Helpfulness/Code/x"), line(2, False, "Pairwise_set/Helpfulness/Chat/y"),
                line(3, True, "Pairwise_set/Harmlessness/S2")]  # fmt: skip
    s = ev.score("rmb-pairwise", pairwise)
    # The mean of the goals, not the micro-average over pairs (2/3).
    assert s["score"] == 0.75 and s["categories"] == {"Harmlessness": 1.0, "Helpfulness": 0.5}
    assert s["pair_mean"] == pytest.approx(2 / 3)
    bon = [line("a", True, "BoN_set/Helpfulness/x") for _ in range(3)]  # beats all 3 losers
    bon += [line("b", True, "BoN_set/Harmlessness/S2"), line("b", False, "BoN_set/Harmlessness/S2")]  # loses once
    s = ev.score("rmb-bon", bon)
    assert s["score"] == 0.5 and s["categories"] == {"Harmlessness": 0.0, "Helpfulness": 1.0} and s["n_items"] == 2


def test_judgebench_both_order_aggregation():
    log = [
        line("p1", True, "mmlu-pro-law", order=0), line("p1", True, "mmlu-pro-law", order=1, better="B"),  # +2: right
        line("p2", True, "livebench-math", order=0), line("p2", False, "livebench-math", order=1, better="B"),  # 0: wrong
        line("p3", True, "livecodebench", order=0), line("p3", False, "livecodebench", order=1, verdict=None),  # +1: right
        line("p4", False, "livebench-reasoning", verdict=None), line("p4", False, "livebench-reasoning", order=1, verdict=None),
    ]  # fmt: skip
    s = ev.score("judgebench", log)
    assert s["score"] == 0.5 and s["n_pairs"] == 4
    assert s["categories"] == {"coding": 1.0, "knowledge": 1.0, "math": 0.0, "reasoning": 0.0}
    assert s["quality"]["position_consistency"] == 0.25  # only p1 picks the same response twice
    assert s["quality"]["verdict_rate"] == pytest.approx(5 / 8)


def test_score_rejects_incomplete_logs():
    with pytest.raises(DataError, match="log line 1: missing field"):
        ev.score("pairs", [{"id": 1}])
    with pytest.raises(DataError, match="unknown benchmark"):
        ev.score("mmlu", [])


@pytest.mark.parametrize(
    "benchmark, file, expected",
    [
        ("rewardbench", "rewardbench_sample.jsonl", 24),
        ("rmbench", "rmbench_sample.jsonl", 12 * 9),
        ("rmb-pairwise", "rmb_pairwise_sample.json", 8),
        ("judgebench", "judgebench_sample.jsonl", 24),
    ],
)
def test_loaders_on_bundled_samples(benchmark, file, expected):
    comparisons = ev.load_comparisons(benchmark, BENCH / file)
    assert len(comparisons) == expected
    assert len({c["key"] for c in comparisons}) == expected
    for c in comparisons:
        assert c["pair"]["chosen"] != c["pair"]["rejected"] and ("prompt" in c["pair"] or "context" in c["pair"])


def test_bon_loader_expands_every_loser():
    items = json.loads((BENCH / "rmb_bon_sample.json").read_text())
    comparisons = ev.load_comparisons("rmb-bon", BENCH / "rmb_bon_sample.json")
    assert len(comparisons) == sum(len(i["loser_list"]) for i in items)
    assert all(
        c["pair"]["chosen"] == next(i for i in items if i["bon_uid"] == c["id"])["bon_best"]["answer"] for c in comparisons
    )


def test_judgebench_loader_shows_the_official_order_first_then_swapped():
    rows = [json.loads(x) for x in (BENCH / "judgebench_sample.jsonl").read_text().splitlines()]
    comparisons = ev.load_comparisons("judgebench", BENCH / "judgebench_sample.jsonl")
    for row in rows:
        first, second = [c for c in comparisons if c["id"] == row["pair_id"]]
        assert first["fixed_position"] == row["label"][0] and second["fixed_position"] != first["fixed_position"]


def test_rmbench_loader_maps_safety_subdomains():
    comparisons = ev.load_comparisons("rmbench", BENCH / "rmbench_sample.jsonl")
    assert {c["domain"] for c in comparisons} == {"chat", "math", "code", "safety"}
    assert {tuple(c["cell"]) for c in comparisons} == {(i, j) for i in range(3) for j in range(3)}


def test_loader_errors_name_file_and_record(tmp_path):
    bad = tmp_path / "jb.jsonl"
    bad.write_text(
        json.dumps({"pair_id": "x", "question": "q", "response_A": "a", "response_B": "b", "label": "A=B", "source": "s"}) + "\n"
    )
    with pytest.raises(DataError, match=r"jb.jsonl: line 1: label must be 'A>B' or 'B>A'"):
        ev.load_comparisons("judgebench", bad)


# --- running: the per-sample log, resume after SIGKILL, rescoring --------------------------------


def _always_a(request):
    return ["<type>Chat</type><rubric>1. Correct (100%)<justify>x</justify></rubric><eval>fine</eval><answer>[[A]]</answer>"]


@pytest.mark.parametrize(
    "benchmark, file",
    [
        ("rewardbench", "rewardbench_sample.jsonl"),
        ("rmbench", "rmbench_sample.jsonl"),
        ("rmb-pairwise", "rmb_pairwise_sample.json"),
        ("rmb-bon", "rmb_bon_sample.json"),
        ("judgebench", "judgebench_sample.jsonl"),
    ],
)
def test_evaluate_and_rescore_each_bundled_sample(tmp_path, benchmark, file):
    from rmr1_utils.generation.openai import OpenAIBackend

    from .openai_test_server import OpenAITestServer

    with OpenAITestServer(replies=_always_a) as server:
        summary = ev.run_evaluation(
            benchmark, BENCH / file, tmp_path, backend=OpenAIBackend(server.url, "always-a"), progress=False
        )
    log = ev.read_log(tmp_path / "log.jsonl")
    assert len(log) == len(ev.load_comparisons(benchmark, BENCH / file)) == summary["comparisons"]
    # A judge that always answers A is right exactly where the better response was shown as A.
    assert all(r["correct"] == (r["better_position"] == "A") for r in log)
    assert summary["quality"]["verdict_a_rate"] == 1.0
    if benchmark == "judgebench":
        assert summary["score"] == 0.0 and summary["quality"]["position_consistency"] == 0.0  # +1 −1 on every pair
    else:
        shown_a = sum(r["better_position"] == "A" for r in log) / len(log)
        assert 0 < shown_a < 1  # the seeded order shows the better response at both positions
    rescored = ev.score(benchmark, log)
    assert rescored == {k: v for k, v in summary.items() if k in rescored}


def test_cli_score_recomputes_from_the_log(tmp_path):
    from .conftest import run_rmr1

    result = run_rmr1("evaluate", "--benchmark", "rewardbench", "--data", str(BENCH / "rewardbench_sample.jsonl"),
                      "--model", "tiny-random", "--backend", "transformers", "--max-new-tokens", "4",
                      "--out", str(tmp_path), "--limit", "6")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "rewardbench: score" in result.stdout
    rescored = run_rmr1("score", "--benchmark", "rewardbench", "--log", str(tmp_path / "log.jsonl"), "--json")
    assert rescored.returncode == 0, rescored.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert json.loads(rescored.stdout)["sections"] == summary["sections"]
    missing = run_rmr1("score", "--benchmark", "rewardbench", "--log", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "file not found" in missing.stderr


def test_resume_after_sigkill_duplicates_nothing_and_matches_a_clean_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from .conftest import REPO_ROOT

    def command(out):
        return [sys.executable, "-m", "rmr1_utils", "evaluate", "--benchmark", "rmbench",
                "--data", str(BENCH / "rmbench_sample.jsonl"), "--model", "tiny-random", "--backend", "transformers",
                "--max-new-tokens", "6", "--chunk-size", "2", "--limit", "6", "--out", str(out), "--quiet"]  # fmt: skip

    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_path = killed / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline:
        if log_path.exists() and log_path.read_text().count("\n") >= 6:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = log_path.read_text().count("\n")
    assert 6 <= at_kill < 54, f"the run was not interrupted mid-way ({at_kill} lines)"

    subprocess.run(command(killed), cwd=REPO_ROOT, check=True, capture_output=True)
    clean = tmp_path / "clean"
    subprocess.run(command(clean), cwd=REPO_ROOT, check=True, capture_output=True)
    resumed_log, clean_log = ev.read_log(log_path), ev.read_log(clean / "log.jsonl")
    assert len(resumed_log) == 54 and len({r["key"] for r in resumed_log}) == 54  # 6 items × 9 cells, no duplicates
    strip = lambda s: {k: v for k, v in s.items() if k != "data"}  # noqa: E731
    assert strip(json.loads((killed / "summary.json").read_text())) == strip(json.loads((clean / "summary.json").read_text()))
    by_key = {r["key"]: r for r in clean_log}
    assert all(r == by_key[r["key"]] for r in resumed_log)  # same order shown, same greedy completions


def test_accuracy_by_length_difference_bins():
    log = [
        dict(line(i, ok), length_diff=d)
        for i, (ok, d) in enumerate([(True, -500), (False, -50), (True, 50), (True, 500), (False, 500)])
    ]
    rows = ev.accuracy_by_length_diff(log, bins=(-100, 0, 100))
    assert rows == [
        {"bin": "< -100", "n": 1, "accuracy": 1.0},
        {"bin": "-100..0", "n": 1, "accuracy": 0.0},
        {"bin": "0..100", "n": 1, "accuracy": 1.0},
        {"bin": ">= 100", "n": 2, "accuracy": 0.5},
    ]


def test_compare_two_runs_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    from rmr1_utils.plots import plot_accuracy_by_length, plot_benchmark_scores, plot_run_comparison

    before = ev.score("rmb-pairwise", [line(1, False, "P/Helpfulness/x"), line(2, True, "P/Harmlessness/y")])
    after = ev.score("rmb-pairwise", [line(1, True, "P/Helpfulness/x"), line(2, True, "P/Harmlessness/y")])
    rows = ev.compare_summaries(before, after)
    assert rows[0] == {"metric": "score", "before": 0.5, "after": 1.0, "delta": 0.5}
    assert {r["metric"]: r["delta"] for r in rows}["Helpfulness"] == 1.0
    with pytest.raises(DataError, match="cannot compare"):
        ev.compare_summaries(before, ev.score("pairs", [line(1, True, "s", "chat")]))
    fig = plot_run_comparison(rows)
    assert len(fig.axes[0].patches) == 2 * len(rows)
    fig = plot_benchmark_scores({"rmb-pairwise": after})
    assert [p.get_height() for p in fig.axes[0].patches] == [1.0, 1.0, 1.0]
    fig = plot_accuracy_by_length(ev.accuracy_by_length_diff([dict(line(1, True), length_diff=10)]))
    assert fig.axes[0].patches[0].get_height() == 1.0


def test_explorer_on_an_evaluation_log(tmp_path):
    from rmr1_utils.generation.openai import OpenAIBackend
    from rmr1_utils.widgets import JudgementExplorer

    from .openai_test_server import OpenAITestServer

    with OpenAITestServer(replies=_always_a) as server:
        ev.run_evaluation(
            "judgebench", BENCH / "judgebench_sample.jsonl", tmp_path, backend=OpenAIBackend(server.url, "a"), progress=False
        )
    explorer = JudgementExplorer(ev.read_log(tmp_path / "log.jsonl"))
    assert len(explorer.filtered) == 12 and all(len(g) == 2 for g in explorer.filtered)  # both orders side by side
    explorer.wrong_only.value = True
    assert len(explorer.filtered) == 12 and "inconsistent across orders" in explorer.view.value


def test_hub_benchmark_without_network_is_one_clear_line():
    from rmr1_utils.hub import OFFLINE, hub_status

    if hub_status("allenai/reward-bench", "dataset") != OFFLINE:
        pytest.skip("the Hub is reachable here; this test is about the offline path")
    with pytest.raises(DataError) as e:
        ev.load_comparisons("rewardbench", "allenai/reward-bench")
    assert str(e.value) == "allenai/reward-bench[filtered]: cannot load from the Hub (no network and not in the local cache)"
    with pytest.raises(DataError, match="expected a .jsonl, .json or .parquet file"):
        ev.load_comparisons("rewardbench", "no-such-file.txt")


def test_both_orders_shows_each_pair_at_a_and_at_b(tmp_path):
    """An always-A judge over both orders: every pair is right once and wrong once, so it is
    never position-consistent and scores exactly 0.5."""
    from rmr1_utils.generation.openai import OpenAIBackend

    from .openai_test_server import OpenAITestServer

    pairs = ev.load_comparisons("pairs", DATA_DIR / "quickstart_pairs.jsonl")
    with OpenAITestServer(replies=_always_a) as server:
        summary = ev.run_evaluation(
            "pairs", DATA_DIR / "quickstart_pairs.jsonl", tmp_path, backend=OpenAIBackend(server.url, "always-a"),
            progress=False, both_orders=True,
        )  # fmt: skip
    log = ev.read_log(tmp_path / "log.jsonl")
    assert len(log) == 2 * len(pairs) == summary["comparisons"] and len({r["key"] for r in log}) == len(log)
    for rs in scoring._group(log, lambda r: r["id"]).values():
        assert sorted(r["order"] for r in rs) == [0, 1] and {r["better_position"] for r in rs} == {"A", "B"}
    assert summary["score"] == 0.5 and summary["quality"]["position_consistency"] == 0.0
    # Order 0 is the seeded order of a one-order run.
    single = {c["key"]: ev.shown_position(c, 0) for c in pairs}
    assert all(r["better_position"] == single[r["key"]] for r in log if r["order"] == 0)


def _quotes_the_first_response(request: dict) -> list[str]:
    """A judge that quotes A's (last) response truly, and attributes the same words to B too (fabricated)."""
    from rmr1_utils.faithfulness import responses_from_messages

    a, _ = responses_from_messages(request["messages"])
    words = a.rsplit("Chatbot A: ", 1)[-1]  # a multi-turn transcript: its last turn
    return [
        f"<type>Chat</type><rubric>1. Accuracy</rubric><eval><quote_A>{words}</quote_A> <quote_B>{words}</quote_B></eval>"
        "<answer>[[A]]</answer>"
    ]


def test_pairs_logs_record_the_shown_responses_and_summaries_report_faithfulness(tmp_path):
    from rmr1_utils.data import load_pairs
    from rmr1_utils.generation.openai import OpenAIBackend
    from rmr1_utils.items import item_of
    from rmr1_utils.stats import bootstrap_mean

    from .conftest import run_rmr1
    from .openai_test_server import OpenAITestServer

    with OpenAITestServer(replies=_quotes_the_first_response) as server:
        backend = OpenAIBackend(server.url, "q")
        summary = ev.run_evaluation("pairs", DATA_DIR / "quickstart_pairs.jsonl", tmp_path, backend=backend, progress=False,
                                    both_orders=True)  # fmt: skip
    log = ev.read_log(tmp_path / "log.jsonl")
    pairs = {p["id"]: p for p in load_pairs(DATA_DIR / "quickstart_pairs.jsonl")}
    for line in log:
        pair = pairs[line["id"]]
        better, worse = (line["response_a"], line["response_b"])[:: 1 if line["better_position"] == "A" else -1]
        assert (better, worse) == (pair["chosen"], pair["rejected"])
    f = summary["faithfulness"]
    # Every judgement has one true quote (A's) and one fabricated one (A's words as B's): half the quotes, all judgements.
    assert f["judgements"] == len(log) and f["quotes"] == 2 * len(log) and f["faithful_share"] == 0.5
    assert (
        f["fabricated_rate"]["value"] == 1.0 and f["accuracy_fabricated"]["n"] == len(log) and f["rubric_present"]["value"] == 1.0
    )
    assert f["faithful_share_ci"]["clusters"] == len(pairs)  # resampled by item: both orders together
    direct = bootstrap_mean([1.0, 0.0] * len(log), [item_of(line) for line in log for _ in range(2)], 2000, 0)
    assert (f["faithful_share_ci"]["low"], f["faithful_share_ci"]["high"]) == (direct.low, direct.high)
    assert "reasoning: faithful quotes 0.500" in ev.format_scores(summary)
    rescored = run_rmr1("score", "--benchmark", "pairs", "--log", str(tmp_path / "log.jsonl"), "--json")
    assert json.loads(rescored.stdout)["faithfulness"] == json.loads(ev.to_json(summary))["faithfulness"]
