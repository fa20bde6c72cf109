"""HelpSteer3-Preference: the sign of ``overall_preference`` names the better response, ties are skipped
and reported, accuracy is overall / per domain / per language; bad records are one line naming the record."""

from __future__ import annotations

import json

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils.cli import main as rmr1_main
from rmr1_utils.errors import DataError

from .conftest import DATA_DIR

SAMPLE = DATA_DIR / "bench" / "helpsteer3_sample.jsonl"
HS3 = {"domain": "general", "language": "english", "context": [{"role": "user", "content": "q"}],
       "response1": "first", "response2": "second", "overall_preference": -2}  # fmt: skip


def jsonl(*records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_the_sign_names_the_better_response_and_ties_are_skipped(tmp_path):
    data = tmp_path / "hs3.jsonl"
    data.write_text(jsonl(*({**HS3, "overall_preference": p} for p in (-2, 3, 0, -1))))
    skipped = []
    comparisons = ev.load_comparisons("helpsteer3", data, skipped=skipped)
    # -2 and -1: response 1 is better; 3: response 2 is better (the dataset card's convention)
    assert [(c["key"], c["pair"]["chosen"], c["pair"]["rejected"]) for c in comparisons] == [
        ("hs3-1", "first", "second"),
        ("hs3-2", "second", "first"),
        ("hs3-4", "first", "second"),
    ]
    assert skipped == [(f"{data}: line 3", "overall_preference 0 (a tie: no better response)")]
    assert {c["domain"] for c in comparisons} == {"general"} and {c["subset"] for c in comparisons} == {"english"}
    # --limit counts records, the skipped tie too
    assert [c["key"] for c in ev.load_comparisons("helpsteer3", data, limit=3)] == ["hs3-1", "hs3-2"]
    with pytest.raises(DataError, match="no helpsteer3 items to judge"):
        ev.run_evaluation("helpsteer3", _only_ties(tmp_path), tmp_path / "out", backend="transformers", progress=False)


def _only_ties(tmp_path):
    path = tmp_path / "ties.jsonl"
    path.write_text(jsonl({**HS3, "overall_preference": 0}))
    return path


def test_bundled_sample_covers_four_domains_a_conversation_and_a_tie():
    skipped = []
    comparisons = ev.load_comparisons("helpsteer3", SAMPLE, skipped=skipped)
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 16 and len(comparisons) == 15 and len(skipped) == 1
    assert {r["domain"] for r in records} == {"general", "stem", "code", "multilingual"}
    assert any(len(c["pair"]["context"]) > 1 for c in comparisons)  # a multi-turn conversation
    for c, r in zip(comparisons, [r for r in records if r["overall_preference"] != 0]):
        better = r["response1"] if r["overall_preference"] < 0 else r["response2"]
        assert c["pair"]["chosen"] == better and c["pair"]["context"] == r["context"]


def line(item, correct, domain, language, verdict="auto"):
    if verdict == "auto":
        verdict = "A" if correct else "B"
    return {"key": f"hs3-{item}", "id": item, "benchmark": "helpsteer3", "subset": language, "domain": domain,
            "better_position": "A", "verdict": verdict, "correct": verdict == "A", "length_diff": 1}  # fmt: skip


def test_accuracy_overall_per_domain_and_per_language_by_hand():
    log = [
        line(1, True, "general", "english"), line(2, True, "general", "english"), line(3, False, "general", "english"),
        line(4, True, "code", "python"), line(5, False, "code", "sql", verdict=None),  # unparsed: wrong
    ]  # fmt: skip
    s = ev.score("helpsteer3", log)
    assert s["score"] == pytest.approx(3 / 5) and s["n"] == 5
    assert s["domains"] == {"code": 0.5, "general": pytest.approx(2 / 3)}
    assert s["languages"] == {"english": pytest.approx(2 / 3), "python": 1.0, "sql": 0.0}
    assert s["notes"] == ["judgements without a parsed verdict count as wrong: 1 of 5"]
    assert set(s["domains_ci"]) == {"code", "general"} and set(s["languages_ci"]) == {"english", "python", "sql"}
    assert s["domains_ci"]["general"]["clusters"] == 3 and s["languages_ci"]["sql"]["n"] == 1
    # records without a language: no per-language block
    assert "languages" not in ev.score("helpsteer3", [{**r, "subset": None} for r in log])


def test_evaluate_always_a_on_the_bundled_sample(tmp_path):
    from rmr1_utils.generation.openai import OpenAIBackend

    from .openai_test_server import OpenAITestServer
    from .test_evaluate import _always_a

    with OpenAITestServer(replies=_always_a) as server:
        summary = ev.run_evaluation("helpsteer3", SAMPLE, tmp_path, backend=OpenAIBackend(server.url, "a"), progress=False)
    log = ev.read_log(tmp_path / "log.jsonl")
    assert len(log) == summary["comparisons"] == 15 and "hs3-4" not in {r["key"] for r in log}  # line 4 is the tie
    assert summary["skipped"] == {"count": 1, "reasons": {"overall_preference 0 (a tie: no better response)": 1},
                                  "first": f"{SAMPLE}: line 4"}  # fmt: skip
    # an always-A judge scores exactly the always-A baseline
    assert summary["score"] == summary["baselines"]["always_a"]["score"]
    assert summary["domains"] == summary["baselines"]["always_a"]["domains"]
    text = ev.format_scores(summary)
    assert "skipped: 1 record(s) with overall_preference 0 (a tie: no better response), not judged" in text
    assert "judgements without a parsed verdict count as wrong: 0 of 15" in text
    assert json.loads((tmp_path / "summary.json").read_text())["skipped"]["count"] == 1
    rescored = ev.score("helpsteer3", log)
    assert rescored == {k: v for k, v in summary.items() if k in rescored}


def test_hub_default_is_the_preference_validation_split():
    from rmr1_utils.benchmark_files import HUB_DEFAULT_SPLITS
    from rmr1_utils.hub import OFFLINE, hub_status

    assert HUB_DEFAULT_SPLITS["helpsteer3"] == "validation"
    if hub_status("nvidia/HelpSteer3", "dataset") != OFFLINE:
        pytest.skip("the Hub is reachable here; this test is about the offline path")
    with pytest.raises(DataError) as e:
        ev.load_comparisons("helpsteer3", "nvidia/HelpSteer3")
    assert str(e.value) == "nvidia/HelpSteer3[validation]: cannot load from the Hub (no network and not in the local cache)"


BAD = {
    "preference out of range": ({**HS3, "overall_preference": 4}, "'overall_preference' must be an integer from -3 to 3, got 4"),
    "preference not an integer": ({**HS3, "overall_preference": 1.5}, "got 1.5"),
    "preference a string": ({**HS3, "overall_preference": "2"}, "got '2'"),
    "missing response2": ({k: v for k, v in HS3.items() if k != "response2"}, "missing field(s) response2"),
    "context not a list": ({**HS3, "context": "q"}, "'context' must be a non-empty array of turns, got a string"),
    "context ends with the assistant": (
        {**HS3, "context": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
        "'context' must end with a user turn",
    ),
    "turn without content": ({**HS3, "context": [{"role": "user"}]}, "context turn 1 has no 'content'"),
    "response1 a number": ({**HS3, "response1": 3}, "'response1' must be a string, got a number"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_records_are_one_line_naming_file_and_record(name, tmp_path, capsys):
    record, message = BAD[name]
    data = tmp_path / "hs3.jsonl"
    data.write_text(jsonl(HS3, record))  # the bad record is line 2
    code = rmr1_main(["evaluate", "--benchmark", "helpsteer3", "--data", str(data), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"rmr1 evaluate: error: {data}: line 2: ") and message in err, err


def test_the_distributed_gzip_file_reads_as_its_contents(tmp_path, capsys):
    """HelpSteer3 ships ``preference/validation.jsonl.gz``: read as is, errors still name the file and line."""
    import gzip

    data = tmp_path / "preference" / "validation.jsonl.gz"
    data.parent.mkdir()
    data.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    skipped = []
    comparisons = ev.load_comparisons("helpsteer3", data, skipped=skipped)
    assert comparisons == ev.load_comparisons("helpsteer3", SAMPLE) and len(comparisons) == 15
    assert skipped == [(f"{data}: line 4", "overall_preference 0 (a tie: no better response)")]

    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(gzip.compress(jsonl(HS3, {**HS3, "overall_preference": 4}).encode()))
    code = rmr1_main(["evaluate", "--benchmark", "helpsteer3", "--data", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (
        f"rmr1 evaluate: error: {bad}: line 2: 'overall_preference' must be an integer from -3 to 3, got 4"
    ), err
