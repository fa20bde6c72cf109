"""The judging curriculum and the rule teacher: verifiable pairs, disjoint splits, exact traces."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rmr1_utils.converters import RecordError, check_verifiable, convert_pairs
from rmr1_utils.curriculum import FAMILIES, PARTS, curriculum_pairs, key_bucket
from rmr1_utils.data import pair_to_judge_task
from rmr1_utils.errors import RMR1Error
from rmr1_utils.formats import INSTRUCT_SYSTEM_PROMPT, VERDICT_TAGS
from rmr1_utils.generation import SamplingParams
from rmr1_utils.judgement import parse_judgement, tail_verdict
from rmr1_utils.rule_teacher import RuleTeacher, rule_trace

from .conftest import run_rmr1


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_writes_verifiable_pairs(family):
    pairs = curriculum_pairs([family], 40, seed=3)
    assert pairs == curriculum_pairs([family], 40, seed=3)  # seeded
    assert len({p["prompt"] for p in pairs}) == len(pairs) >= 20
    for p in pairs:
        v = p["verifiable"]
        assert v["family"] == family and v["type"] == "Reasoning" and p["source"] == f"curriculum/{family}"
        assert p["chosen"] != p["rejected"]
        assert v["chosen_quote"] in p["chosen"] and v["rejected_quote"] in p["rejected"]
        # The judge's solution states the correct answer in the exact words of the correct quote.
        assert v["solution"].endswith(v["chosen_quote"]) and not v["solution"].endswith(v["rejected_quote"])
        assert convert_pairs(p)["verifiable"] == v  # survives the pair loader


def test_answers_are_what_the_question_asks():
    for p in curriculum_pairs(["last-word", "first-word", "last-item"], 30, seed=1):
        listed = p["prompt"].split(": ", 1)[1].rstrip("?").replace(",", "").split()
        family = p["verifiable"]["family"]
        target = listed[0] if family == "first-word" else listed[-1]
        assert p["chosen"].endswith(f" {target}.") and p["rejected"].split()[-1].rstrip(".") in listed
    for p in curriculum_pairs(["units"], 30, seed=1):
        n = p["prompt"].removeprefix("How many ").rstrip("?").split(" are in ")[1].split()[0]
        value = int(p["chosen"].split(" is ")[1].split()[0])
        assert value % int(n) == 0 and str(value // int(n)).strip("0") == "1"  # a power of ten times n
    for p in curriculum_pairs(["echo"], 30, seed=1):
        assert p["prompt"].endswith(p["chosen"]) and not p["prompt"].endswith(p["rejected"])


def test_train_and_test_parts_never_share_a_question_or_fact():
    train = curriculum_pairs(list(FAMILIES), 400, seed=0, part="train")
    test = curriculum_pairs(list(FAMILIES), 120, seed=1, part="test")
    assert not {p["prompt"] for p in train} & {p["prompt"] for p in test}
    for p in test:
        # fact families: the fact itself (not just the wording) is unseen in training
        if p["verifiable"]["family"] in ("capital", "opposite", "plural"):
            assert p["prompt"] not in {q["prompt"] for q in train}
    assert key_bucket("capital:France") == key_bucket("capital:France")
    assert set(PARTS["train"]).isdisjoint(PARTS["test"])


def test_unknown_family_or_part_is_an_error():
    with pytest.raises(ValueError, match="unknown curriculum families"):
        curriculum_pairs(["last-word", "nope"], 4)
    with pytest.raises(ValueError, match="unknown part"):
        curriculum_pairs(["echo"], 4, part="validation")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("position", ["A", "B"])
def test_rule_traces_parse_complete_with_the_labelled_verdict(family, position):
    for pair in curriculum_pairs([family], 10, seed=5):
        task = pair_to_judge_task(pair, position)
        trace = rule_trace(task["verifiable"], task["winner"])
        parsed = parse_judgement(trace)
        assert parsed.format_complete and not parsed.truncated
        assert parsed.task_type == "Reasoning" and parsed.solution == pair["verifiable"]["solution"]
        assert parsed.verdict == position == tail_verdict(trace)  # RM-R1's reward rule agrees
        assert trace.endswith(VERDICT_TAGS[task["winner"]])  # byte-exact final tag
        better, worse = (parsed.quotes_a, parsed.quotes_b) if position == "A" else (parsed.quotes_b, parsed.quotes_a)
        assert better == [pair["chosen"]] or better == [pair["verifiable"]["chosen_quote"]]
        assert worse == [pair["verifiable"]["rejected_quote"]]
        # every quote is verbatim from the response shown under that letter
        user = task["messages"][-1]["content"]
        answer_a = user.split("[The Start of Chatbot A's Response]\n")[1].split("\n[The End of Chatbot A's Response]")[0]
        answer_b = user.split("[The Start of Chatbot B's Response]\n")[1].split("\n[The End of Chatbot B's Response]")[0]
        assert all(q in answer_a for q in parsed.quotes_a) and all(q in answer_b for q in parsed.quotes_b)


def test_rule_teacher_backend():
    pairs = curriculum_pairs(["echo", "capital"], 4, seed=0)
    tasks = [pair_to_judge_task(p, pos) for p, pos in zip(pairs, "ABAB")]
    teacher = RuleTeacher(tasks)
    out = teacher.generate([t["messages"] for t in tasks], SamplingParams())
    assert [o[0].text for o in out] == [rule_trace(t["verifiable"], t["winner"]) for t in tasks]
    assert all(o[0].finished for o in out)
    # pass 2 appends the flawed trace and a correction request: still the same task
    retry = [*tasks[0]["messages"], {"role": "assistant", "content": "x"}, {"role": "user", "content": "fix it"}]
    assert teacher.generate([retry], SamplingParams())[0][0].text == out[0][0].text
    plain = {"messages": [{"role": "system", "content": INSTRUCT_SYSTEM_PROMPT}, {"role": "user", "content": "?"}]}
    assert not teacher.knows(plain)
    with pytest.raises(RMR1Error, match="verifiable"):
        teacher.generate([plain["messages"]], SamplingParams())


@pytest.mark.parametrize(
    "verifiable, fragment",
    [
        ("text", "must be a mapping"),
        ({"solution": "x", "chosen_quote": "good"}, "rejected_quote must be a non-empty string"),
        ({"solution": "x", "chosen_quote": "nowhere", "rejected_quote": "bad"}, "chosen_quote is not a verbatim part"),
    ],
)
def test_bad_verifiable_is_a_record_error(verifiable, fragment):
    with pytest.raises(RecordError, match=fragment):
        check_verifiable(verifiable, "a good answer", "a bad answer")


def test_distill_data_rule_teacher_cli(tmp_path):
    data = tmp_path / "data"
    proc = run_rmr1("prepare", "--recipe", "judge-curriculum", "--out", str(data), "--quiet")
    assert proc.returncode == 0, proc.stderr[-1500:]
    summary = json.loads((data / "summary.json").read_text())
    assert summary["counts"] == {"train": 192, "test": 48, "test_families": 24}
    hand = tmp_path / "hand.jsonl"  # a task without `verifiable` and without a trace: skipped, counted
    task = json.loads((data / "test.jsonl").read_text().splitlines()[0])
    task.pop("verifiable")
    task["id"] = "unverifiable-1"
    hand.write_text(json.dumps(task) + "\n")
    out = tmp_path / "traces"
    proc = run_rmr1("distill-data", "--tasks", str(data), str(hand), "--teacher", "rule", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert "1 skipped: not verifiable" in proc.stdout and "kept: 192/192" in proc.stdout
    kept = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    assert len(kept) == 192 and Counter(r["winner"] for r in kept) == {"model_a": 96, "model_b": 96}
    assert all(parse_judgement(r["context_messages"][-1]["content"]).format_complete for r in kept)
    # both orders of each pair are there, as `<id>` and `<id>-swapped`
    ids = {r["id"] for r in kept}
    assert all(i + "-swapped" in ids for i in ids if not i.endswith("-swapped"))
    # resume: a second run asks nothing again
    log_lines = (out / "log.jsonl").read_text().count("\n")
    proc = run_rmr1("distill-data", "--tasks", str(data), "--teacher", "rule", "--out", str(out), "--quiet")
    assert proc.returncode == 0 and (out / "log.jsonl").read_text().count("\n") == log_lines
