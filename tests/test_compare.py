"""``rmr1 score --compare``: two runs on their shared keys, paired interval and exact McNemar p by hand;
every bad use is one line, exit code 2."""

from __future__ import annotations

import json
import re

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils import rewardbench2 as rb2
from rmr1_utils.runlog import RunLog

from .conftest import DATA_DIR
from .conftest import rmr1_in_process as cli
from .synthetic_logs import synthetic_log

BENCH = DATA_DIR / "bench"
FILES = {"helpsteer3": BENCH / "helpsteer3_sample.jsonl", "rewardbench": BENCH / "rewardbench_sample.jsonl"}


def always_a(comparison) -> str:
    return "A"


def longer(comparison) -> str:
    """Picks the longer response where the log shows it (a judge that reads only lengths)."""
    better_is_longer = len(comparison["pair"]["chosen"]) > len(comparison["pair"]["rejected"])
    shown = comparison["fixed_position"]
    return shown if better_is_longer else "B" if shown == "A" else "A"


def write_log(path, benchmark, judge, both_orders=False, keep=None, seed=0) -> list[dict]:
    """A run log as ``rmr1 evaluate`` writes it (identity line, then one line per comparison)."""
    comparisons = ev.load_comparisons(benchmark, FILES[benchmark])
    comparisons = ev.in_both_orders(comparisons, seed) if both_orders else comparisons
    records = []
    for c in comparisons[:keep]:
        shown = ev.shown_position(c, seed)
        verdict = judge({**c, "fixed_position": shown})
        records.append({"key": c["key"], "id": c["id"], "benchmark": benchmark, "subset": c.get("subset"),
                        "domain": c.get("domain"), "cell": c.get("cell"), "order": c.get("order", 0),
                        "better_position": shown, "completion": f"<answer>[[{verdict}]]</answer>", "verdict": verdict,
                        "correct": verdict == shown,
                        "length_diff": len(c["pair"]["chosen"]) - len(c["pair"]["rejected"])})  # fmt: skip
    RunLog(path, {"stage": "evaluate", "benchmark": benchmark, "seed": seed}).append(records)
    return records


def test_compare_two_runs_by_hand(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_log(a, "helpsteer3", always_a)
    write_log(b, "helpsteer3", longer)
    code, out, err = cli(capsys, "score", "--compare", str(a), str(b), "--json")
    assert code == 0, err
    result = json.loads(out)
    # 15 comparisons: always-A is right on the 4 shown at A, "longer" on the 9 whose better response is longer.
    # Right only for A: 1, only for B: 6, so McNemar's p = 2 * P(X <= 1), X ~ Bin(7, 1/2) = 2 * (1 + 7) / 128.
    assert (result["n_shared"], result["n_only_a"], result["n_only_b"], result["n_items"]) == (15, 0, 0, 15)
    assert (result["only_a_right"], result["only_b_right"]) == (1, 6)
    assert result["mcnemar_p"] == pytest.approx(16 / 128)
    assert result["accuracy_a"]["value"] == pytest.approx(4 / 15) and result["accuracy_b"]["value"] == pytest.approx(9 / 15)
    d = result["difference"]
    assert d["value"] == pytest.approx(5 / 15) and d["low"] <= d["value"] <= d["high"] and d["n"] == 15
    assert result["score_a"] == pytest.approx(4 / 15) and result["score_difference"]["value"] == pytest.approx(5 / 15)
    assert result["notes"] == []
    code, out, _ = cli(capsys, "score", "--compare", str(a), str(b))
    assert code == 0 and re.search(r"McNemar exact p +0\.125  \(right only in A: 1, only in B: 6\)", out)
    assert f"A: {a}" in out and re.search(r"difference B − A +\+0\.333 \[", out)
    # scoring one log without intervals (--resamples 0): the baselines stay
    code, out, _ = cli(capsys, "score", "--benchmark", "helpsteer3", "--log", str(a), "--resamples", "0", "--json")
    assert code == 0 and "score_ci" not in json.loads(out) and json.loads(out)["baselines"]["always_a"]["score"] == 4 / 15
    # seeded: the same logs give the same result
    assert json.loads(cli(capsys, "score", "--compare", str(a), str(b), "--json")[1]) == result


def test_compare_counts_keys_only_in_one_run_and_warns_about_clusters(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_log(a, "helpsteer3", always_a)
    write_log(b, "helpsteer3", longer, keep=10)
    code, out, err = cli(capsys, "score", "--compare", str(a), str(b), "--json")
    result = json.loads(out)
    assert code == 0 and (result["n_shared"], result["n_only_a"], result["n_only_b"]) == (10, 5, 0)
    # both orders: 48 judgements of 24 items; McNemar's independence does not hold, the note says so
    a2, b2 = tmp_path / "a2.jsonl", tmp_path / "b2.jsonl"
    write_log(a2, "rewardbench", always_a, both_orders=True)
    write_log(b2, "rewardbench", longer, both_orders=True)
    result = json.loads(cli(capsys, "score", "--compare", str(a2), str(b2), "--json")[1])
    assert (result["n_shared"], result["n_items"]) == (48, 24) and result["difference"]["clusters"] == 24
    assert result["accuracy_a"]["value"] == 0.5  # always-A, both orders: exactly one of each pair
    assert "its p is too small" in result["notes"][0]
    # another --seed shows some comparisons in the other order: said in a note
    c = tmp_path / "c.jsonl"
    write_log(c, "helpsteer3", always_a, seed=7)
    result = json.loads(cli(capsys, "score", "--compare", str(a), str(c), "--json")[1])
    assert any("shown in the other order in the two runs" in note for note in result["notes"])


def test_bad_uses_are_one_line(tmp_path, capsys):
    hs_a, hs_b, rb = tmp_path / "hs_a.jsonl", tmp_path / "hs_b.jsonl", tmp_path / "rb.jsonl"
    write_log(hs_a, "helpsteer3", always_a)
    write_log(rb, "rewardbench", always_a)
    records = write_log(tmp_path / "scratch.jsonl", "helpsteer3", longer)
    RunLog(hs_b, {"benchmark": "helpsteer3"}).append([{**r, "key": "other-" + r["key"]} for r in records])
    keyless = tmp_path / "keyless.jsonl"
    keyless.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "key"}) + "\n" for r in records))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(hs_a.read_text().split("\n", 1)[1] + rb.read_text().split("\n", 1)[1])
    twice = tmp_path / "twice.jsonl"  # one run's lines, then the same keys again (a second run appended)
    body = hs_a.read_text().split("\n", 1)[1]
    twice.write_text(hs_a.read_text() + body)
    cases = {
        "different benchmarks": (["--compare", hs_a, rb], f"{hs_a} is a helpsteer3 log and {rb} a rewardbench log"),
        "no shared key": (["--compare", hs_a, hs_b], "share no comparison keys"),
        "with --log": (["--compare", hs_a, hs_a, "--log", hs_a], "--compare takes the two logs itself: drop --log"),
        "missing file": (["--compare", hs_a, tmp_path / "nope.jsonl"], "nope.jsonl: file not found"),
        "one log": (["--compare", hs_a], "--compare: expected 2 arguments"),
        "another --benchmark": (["--benchmark", "rewardbench", "--compare", hs_a, hs_a], "a helpsteer3 log, not rewardbench"),
        "lines without keys": (["--benchmark", "helpsteer3", "--compare", keyless, hs_a], f"{keyless}: log line 1 has no 'key'"),
        "two benchmarks in a log": (["--compare", mixed, hs_a], "lines of several benchmarks (helpsteer3, rewardbench)"),
        "a key twice in one log": (
            ["--compare", twice, hs_a],
            f"{twice}: key {records[0]['key']!r} is on log lines 1 and {len(records) + 1}",
        ),
        "neither --log nor --compare": (["--benchmark", "helpsteer3"], "--log is required (or --compare LOG_A LOG_B)"),
        "a folder": (["--compare", tmp_path, hs_a], "is a folder"),
        "no resamples": (["--compare", hs_a, hs_a, "--resamples", "0"], "--resamples must be at least 1"),
        "negative resamples": (["--benchmark", "helpsteer3", "--log", hs_a, "--resamples", "-1"], "--resamples"),
    }
    for name, (argv, message) in cases.items():
        code, _, err = cli(capsys, "score", *map(str, argv))
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (name, err)
        assert message in lines[0] and lines[0].startswith("rmr1 score: error: "), (name, lines[0])


def test_compare_rewardbench2_pairs_items_on_their_official_outcomes(tmp_path, capsys):
    # Run A rates every response (Ties too), run B judges the best-of-4 subsets four-way: paired by item.
    ratings, four_way = synthetic_log("rewardbench2-ties", n_items=20), synthetic_log("rewardbench2-four-way", n_items=20, seed=1)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    RunLog(a, {"benchmark": "rewardbench2", "rb2_mode": "ratings"}).append(ratings)
    RunLog(b, {"benchmark": "rewardbench2", "rb2_mode": "four-way"}).append(four_way)
    code, out, err = cli(capsys, "score", "--compare", str(a), str(b), "--json")
    assert code == 0, err
    result = json.loads(out)
    best_of_4 = [line for line in ratings if line["subset"] != "Ties"]
    items = {}
    for line in best_of_4:
        items.setdefault((line["subset"], line["id"]), []).append(line)
    outcomes = [rb2.item_outcome(lines) for lines in items.values()]
    assert (result["unit"], result["n_shared"], result["n_only_a"], result["n_only_b"]) == ("item", 20, 20, 0)
    # rating lines (correct: None) are never read as wrong: the per-item official outcomes are compared
    assert result["accuracy_a"]["value"] == pytest.approx(sum(outcomes) / 20) and result["accuracy_a"]["value"] > 0.2
    b_outcomes = [1.0 if r["verdict"] == r["better_position"] else 0.25 if r["verdict"] is None else 0.0 for r in four_way]
    assert result["accuracy_b"]["value"] == pytest.approx(sum(b_outcomes) / 20)
    assert result["score_a"] == pytest.approx(ev.score("rewardbench2", best_of_4, resamples=0)["score"])
    assert result["score_b"] == pytest.approx(ev.score("rewardbench2", four_way, resamples=0)["score"])
    assert result["difference"]["value"] == pytest.approx(result["accuracy_b"]["value"] - result["accuracy_a"]["value"])
    d = result["score_difference"]
    assert d["low"] < d["value"] < d["high"]
    assert result["mcnemar_p"] is None and any("McNemar needs right/wrong outcomes" in n for n in result["notes"])
    code, out, _ = cli(capsys, "score", "--compare", str(a), str(b))
    assert code == 0 and "shared items" in out and re.search(r"McNemar exact p +n/a", out)
    # Ties against Ties: a Ties item's outcome is whether it is accurate; its prompt is one cluster.
    c = tmp_path / "c.jsonl"
    RunLog(c, {"benchmark": "rewardbench2", "rb2_mode": "ratings", "seed": 1}).append(synthetic_log("rewardbench2-ties", 20, 1))
    result = json.loads(cli(capsys, "score", "--compare", str(a), str(c), "--json")[1])
    assert result["n_shared"] == 40 and result["n_items"] == 30  # 20 best-of-4 items, 10 Ties prompts of 2 items


def test_compare_leaves_incomplete_items_out(tmp_path, capsys):
    log = synthetic_log("judgebench", n_items=10)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    RunLog(a, {"benchmark": "judgebench"}).append(log)
    RunLog(b, {"benchmark": "judgebench", "seed": 1}).append(log[:-1])  # killed before the last game
    result = json.loads(cli(capsys, "score", "--compare", str(a), str(b), "--json")[1])
    assert (result["n_shared"], result["n_incomplete_b"], result["n_only_a"]) == (18, 1, 2)
    assert f"{b}: 1 item incomplete, excluded; resume the run to finish them" in result["notes"]


def test_score_several_logs_refuses_mixed_runs_and_repeated_keys(tmp_path, capsys):
    log = synthetic_log("judgebench", n_items=10)
    identity = {"stage": "evaluate", "benchmark": "judgebench", "data": "sha256:x", "model": "judge-a", "seed": 0}
    paths = {name: tmp_path / f"{name}.jsonl" for name in ("a", "other_model", "shard1", "shard2", "dup", "bare", "part")}
    RunLog(paths["a"], identity).append(log)
    RunLog(paths["other_model"], {**identity, "model": "judge-b"}).append([{**r, "key": "b-" + r["key"]} for r in log])
    RunLog(paths["shard1"], identity).append(log[:12])
    RunLog(paths["shard2"], identity).append(log[12:])
    RunLog(paths["dup"], identity).append(log[10:])
    paths["bare"].write_text("".join(json.dumps(r) + "\n" for r in log[12:]))
    RunLog(paths["part"], {**identity, "data": "sha256:y"}).append([{**r, "key": "y-" + r["key"], "id": "y" + r["id"]}
                                                                       for r in log])  # fmt: skip

    def score(*names, merge=False):
        argv = ["score", "--benchmark", "judgebench", "--resamples", "0", "--json", *(["--merge"] if merge else []), "--log"]
        return cli(capsys, *argv, *(str(paths[n]) for n in names))

    cases = {
        ("a", "other_model"): f"{paths['other_model']}: another run than {paths['a']} (model: judge-a -> judge-b)",
        ("shard1", "shard2"): f"{paths['shard2']}: the same run as {paths['shard1']} (one identity): pass --merge",
        ("shard1", "bare"): f"{paths['bare']}: a log without a run identity cannot be checked",
    }
    for names, message in cases.items():
        code, _, err = score(*names)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"rmr1 score: error: {message}"), (names, err)
    code, _, err = score("shard1", "dup", merge=True)
    assert code == 2 and f"{paths['dup']}: key 'jb-5-0' (line 2) is also in {paths['shard1']} line 12" in err
    assert len(err.strip().splitlines()) == 1
    # --merge joins shards of one run and says so; the score is the whole run's
    code, out, _ = score("shard1", "shard2", merge=True)
    merged = json.loads(out)
    assert code == 0 and merged["score"] == ev.score("judgebench", log, resamples=0)["score"]
    assert f"merged {paths['shard1']} (12 lines), {paths['shard2']} (8 lines) as shards of one run" in merged["notes"]
    code, out, _ = score("shard1", "bare", merge=True)
    assert code == 0 and json.loads(out)["n_pairs"] == 10
    # two parts of one judge setup (another data file): scored together without --merge
    code, out, _ = score("a", "part")
    assert code == 0 and json.loads(out)["n_pairs"] == 20
