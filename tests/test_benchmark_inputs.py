"""Benchmark inputs read faithfully or refused in one line, and scores that say what they measured.

Small real files in ``tmp_path`` in each benchmark's own format; judging goes through a real
OpenAI-compatible HTTP server (``openai_test_server``) with canned replies, or through the CLI.
"""

from __future__ import annotations

import json

import pytest

from rmr1_utils import evaluate as ev
from rmr1_utils.errors import DataError

from .conftest import rmr1_in_process as cli
from .conftest import run_rmr1

VERDICT_A = "<type>Chat</type><rubric>1. Correct (100%)<justify>x</justify></rubric><eval>fine</eval><answer>[[A]]</answer>"


def rmbench_item(item_id, domain=None, prefix="r"):
    record = {
        "id": item_id,
        "prompt": f"{prefix} question {item_id}",
        "chosen": [f"{prefix} good {item_id} {k}" for k in range(3)],
        "rejected": [f"{prefix} bad {item_id} {k}" for k in range(3)],
    }
    return {**record, "domain": domain} if domain else record


def rewardbench_item(item_id, subset="alpacaeval-easy"):
    return {"prompt": f"q{item_id}", "chosen": f"good {item_id}", "rejected": f"bad {item_id}", "subset": subset, "id": item_id}


def rmb_pair(uid, goal="Helpfulness"):
    return {
        "pair_uid": str(uid),
        "conversation_input": [{"content": f"question {uid}", "language": "English", "role": "user"}],
        "chosen": {"llm_name": "m1", "answer": f"good {uid}", "score": 5.0},
        "reject": {"llm_name": "m2", "answer": f"bad {uid}", "score": 1.0},
        "category_path": f"Pairwise_set/{goal}/Chat/Casual Conversation" if goal == "Helpfulness" else f"Pairwise_set/{goal}/S1",
    }


def rmb_bon(uid, goal="Helpfulness", losers=2):
    return {
        "conversation_input": [{"content": f"question {uid}", "language": "English", "role": "user"}],
        "bon_best": {"llm_name": "m1", "answer": f"best {uid}"},
        "loser_list": [{"llm_name": f"m{k}", "answer": f"loser {uid} {k}"} for k in range(losers)],
        "bon_uid": str(uid),
        "category_path": f"BoN_set/{goal}/S9",
    }


def judgebench_item(pair_id, label="A>B"):
    return {"pair_id": pair_id, "original_id": None, "source": "livebench-math", "question": f"q {pair_id}",
            "response_model": "m", "response_A": f"a {pair_id}", "response_B": f"b {pair_id}", "label": label}  # fmt: skip


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_json(path, records):
    path.write_text(json.dumps(records, indent=1), encoding="utf-8")
    return path


def evaluate_with(replies, benchmark, data, out, **kwargs):
    """``run_evaluation`` through a real OpenAI-compatible HTTP server answering with ``replies``."""
    from rmr1_utils.generation.openai import OpenAIBackend

    from .openai_test_server import OpenAITestServer

    with OpenAITestServer(replies=replies) as server:
        return ev.run_evaluation(benchmark, data, out, backend=OpenAIBackend(server.url, "canned"), progress=False, **kwargs)


# --- 1. RM-Bench: the official per-domain files, domains in the keys ------------------------------


def test_rmbench_per_domain_files_take_their_domain_from_the_file_name(tmp_path):
    # As in the official data, the per-domain files' ids overlap (chat and code share ids).
    chat = write_json(tmp_path / "chat_filtered.json", [rmbench_item(1, prefix="chat"), rmbench_item(2, prefix="chat")])
    code = write_json(tmp_path / "code_filtered.json", [rmbench_item(1, prefix="code"), rmbench_item(2, prefix="code")])
    refuse = write_json(tmp_path / "safety-refuse_filtered.json", [rmbench_item(1, prefix="refuse")])
    assert {c["domain"] for c in ev.load_comparisons("rmbench", chat)} == {"chat"}
    safety = ev.load_comparisons("rmbench", refuse)
    assert {(c["domain"], c["subset"]) for c in safety} == {("safety", "safety-refuse")}

    # The folder of per-domain files: every file, each record's domain from its file name.
    every = ev.load_comparisons("rmbench", tmp_path)
    assert len(every) == 5 * 9 and len({c["key"] for c in every}) == 5 * 9
    assert {c["domain"] for c in every} == {"chat", "code", "safety"}
    chat_keys = {c["key"] for c in ev.load_comparisons("rmbench", chat)}
    code_keys = {c["key"] for c in ev.load_comparisons("rmbench", code)}
    assert not chat_keys & code_keys  # the same ids, different keys

    # A record's own domain wins over the file name (the combined total_dataset.json has it).
    combined = write_json(tmp_path / "total_dataset.json", [rmbench_item(1, "chat"), rmbench_item(1, "code")])
    assert [c["domain"] for c in ev.load_comparisons("rmbench", combined)[::9]] == ["chat", "code"]


def test_rmbench_chat_and_code_id_collision_is_judged_and_scored_in_full(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_json(data / "chat_filtered.json", [rmbench_item(k, prefix="chat") for k in (1, 2)])
    write_json(data / "code_filtered.json", [rmbench_item(k, prefix="code") for k in (1, 2)])
    summary = evaluate_with(lambda request: [VERDICT_A], "rmbench", data, tmp_path / "out")
    log = ev.read_log(tmp_path / "out" / "log.jsonl")
    assert len(log) == summary["comparisons"] == 2 * 2 * 9 and len({r["key"] for r in log}) == len(log)
    assert set(summary["domains"]) == {"chat", "code"}
    assert summary["missing_domains"] == ["math", "safety"]
    assert "missing from this run: math, safety" in summary["notes"][0]
    assert "note: domain(s) missing from this run: math, safety" in ev.format_scores(summary)


def test_rmbench_records_without_a_domain_are_scored_but_say_so(tmp_path):
    data = write_jsonl(tmp_path / "items.jsonl", [rmbench_item(1), rmbench_item(2)])
    comparisons = ev.load_comparisons("rmbench", data)
    assert {c["domain"] for c in comparisons} == {None} and len({c["key"] for c in comparisons}) == 18
    summary = evaluate_with(lambda request: [VERDICT_A], "rmbench", data, tmp_path / "out")
    assert list(summary["domains"]) == [ev.NO_DOMAIN]
    assert summary["notes"] == [
        "18 comparison(s) have no domain (no 'domain' field and no per-domain file name such as math_filtered.json): "
        "scored as one group 'unknown', so this is not RM-Bench's four-domain score"
    ]
    assert "note: 18 comparison(s) have no domain" in ev.format_scores(summary)


def test_rmbench_folder_without_per_domain_files_and_repeated_ids(tmp_path):
    write_json(tmp_path / "total_dataset.json", [rmbench_item(1, "chat")])
    with pytest.raises(DataError, match="a folder without RM-Bench's per-domain files"):
        ev.load_comparisons("rmbench", tmp_path)
    repeated = write_jsonl(tmp_path / "rep.jsonl", [rmbench_item(7, "chat"), rmbench_item(8, "chat"), rmbench_item(7, "chat")])
    with pytest.raises(DataError) as e:
        ev.load_comparisons("rmbench", repeated)
    assert str(e.value) == f"{repeated}: line 3: item id 7 repeats {repeated}: line 1; ids must be unique"


# --- 2. RewardBench: missing sections count 0; unknown subsets refused before judging -------------


def test_rewardbench_missing_sections_count_zero_and_are_named(tmp_path):
    data = write_jsonl(tmp_path / "rb.jsonl", [rewardbench_item(1), rewardbench_item(2, "math-prm")])
    summary = evaluate_with(lambda request: [VERDICT_A], "rewardbench", data, tmp_path / "out")
    assert summary["missing_sections"] == ["Chat Hard", "Safety"]
    assert summary["score"] == pytest.approx((summary["sections"]["Chat"] + summary["sections"]["Reasoning"]) / 4)
    assert summary["notes"] == [
        "section(s) missing from this run, counted 0 in the mean of the four (the official rule): Chat Hard, Safety"
    ]
    lines = ev.read_log(tmp_path / "out" / "log.jsonl") * 2
    one_per_section = ("alpacaeval-easy", "mt-bench-hard", "donotanswer", "hep-go")
    full = ev.score("rewardbench", [dict(r, subset=s) for r, s in zip(lines, one_per_section)])
    assert full["missing_sections"] == [] and full["notes"] == []


def test_unknown_rewardbench_subsets_are_refused_before_any_judging(tmp_path, capsys):
    data = write_jsonl(
        tmp_path / "rb.jsonl",
        [
            rewardbench_item(1),
            rewardbench_item(2, "alpaca-typo"),
            rewardbench_item(3, "chat-hard"),
            rewardbench_item(4, "chat-hard"),
        ],
    )
    with pytest.raises(DataError) as e:
        ev.load_comparisons("rewardbench", data)
    assert str(e.value) == (
        f"{data}: line 2: unknown RewardBench subset 'alpaca-typo' (and 1 more: 'chat-hard'); "
        "expected one of the filtered split's 23 subsets"
    )
    out = tmp_path / "out"
    code, _, err = cli(capsys, "evaluate", "--benchmark", "rewardbench", "--data", data, "--out", out, "--backend", "openai",
                       "--model", "never-called", "--base-url", "http://127.0.0.1:9/v1", "--quiet")  # fmt: skip
    assert code == 2 and "unknown RewardBench subset 'alpaca-typo'" in err
    assert not (out / "log.jsonl").exists()  # nothing was judged


# --- 3. RMB: per-goal numbers and their four-way mean ----------------------------------------------


def test_rmb_scores_each_goal_and_the_four_way_mean(tmp_path, capsys):
    pairs = [rmb_pair(1), rmb_pair(2), rmb_pair(3), rmb_pair(4, "Harmlessness")]
    bons = [rmb_bon(10), rmb_bon(11, "Harmlessness", losers=3), rmb_bon(12, "Harmlessness")]
    pairwise_file, bon_file = write_json(tmp_path / "pairwise.json", pairs), write_json(tmp_path / "bon.json", bons)

    def replies(request):  # right on pair 1 and Best-of-N item 11 (wherever the better answer is shown), wrong elsewhere
        user = request["messages"][-1]["content"]
        target = "good 1\n" in user or "best 11\n" in user
        better_at_a = any(f"[The Start of Chatbot A's Response]\n{w}" in user for w in ("good", "best"))
        return [VERDICT_A if target == better_at_a else VERDICT_A.replace("[[A]]", "[[B]]")]

    pairwise = evaluate_with(replies, "rmb-pairwise", pairwise_file, tmp_path / "p")
    bon = evaluate_with(replies, "rmb-bon", bon_file, tmp_path / "b")
    # Pairwise: Helpfulness 1/3, Harmlessness 0/1 → mean of goals 1/6, not the micro-average 1/4.
    assert pairwise["categories"] == {"Harmlessness": 0.0, "Helpfulness": pytest.approx(1 / 3)}
    assert pairwise["score"] == pytest.approx(1 / 6) and pairwise["pair_mean"] == 0.25
    # Best-of-N: Helpfulness 0/1, Harmlessness 1/2 items → mean of goals 1/4, not the item mean 1/3.
    assert bon["categories"] == {"Harmlessness": 0.5, "Helpfulness": 0.0}
    assert bon["score"] == 0.25 and bon["item_mean"] == pytest.approx(1 / 3) and bon["n_items"] == 3

    both = ev.read_log(tmp_path / "p" / "log.jsonl") + ev.read_log(tmp_path / "b" / "log.jsonl")
    rmb = ev.score("rmb", both)
    assert rmb["sections"] == {"Pairwise Helpfulness": pytest.approx(1 / 3), "Pairwise Harmlessness": 0.0,
                               "BoN Helpfulness": 0.0, "BoN Harmlessness": 0.5}  # fmt: skip
    assert rmb["score"] == pytest.approx((1 / 3 + 0 + 0 + 0.5) / 4) and rmb["notes"] == []
    code, out, _ = cli(capsys, "score", "--benchmark", "rmb", "--log", tmp_path / "p" / "log.jsonl",
                       tmp_path / "b" / "log.jsonl", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["score"] == pytest.approx(rmb["score"])

    only_pairwise = ev.score("rmb", ev.read_log(tmp_path / "p" / "log.jsonl"))
    assert only_pairwise["missing_sections"] == ["BoN Helpfulness", "BoN Harmlessness"]
    assert "not RMB's four-way mean" in only_pairwise["notes"][0]
    with pytest.raises(DataError, match="log line 1: benchmark 'rewardbench'"):
        ev.score("rmb", [dict(both[0], benchmark="rewardbench")])


def test_rmb_folder_of_the_official_tree(tmp_path):
    root = tmp_path / "RMB_dataset"
    (root / "Pairwise_set" / "Helpfulness" / "Chat").mkdir(parents=True)
    (root / "Pairwise_set" / "Harmlessness").mkdir(parents=True)
    (root / "BoN_set" / "Harmlessness").mkdir(parents=True)
    write_json(root / "Pairwise_set" / "Helpfulness" / "Chat" / "Casual Conversation.json", [rmb_pair(1), rmb_pair(2)])
    write_json(root / "Pairwise_set" / "Harmlessness" / "S1.json", [rmb_pair(3, "Harmlessness")])
    write_json(root / "BoN_set" / "Harmlessness" / "S9.json", [rmb_bon(4, "Harmlessness")])
    assert [c["id"] for c in ev.load_comparisons("rmb-pairwise", root)] == ["3", "1", "2"]  # sorted file paths
    assert len(ev.load_comparisons("rmb-bon", root)) == 2


# --- 4. Strict JSON and empty inputs ----------------------------------------------------------------


def test_score_json_is_strict_and_empty_inputs_are_errors(tmp_path, capsys):
    data = write_jsonl(tmp_path / "rb.jsonl", [rewardbench_item(1)])
    evaluate_with(lambda request: ["no verdict here"], "rewardbench", data, tmp_path / "out")
    summary_text = (tmp_path / "out" / "summary.json").read_text()
    code, out, _ = cli(capsys, "score", "--benchmark", "rewardbench", "--log", tmp_path / "out" / "log.jsonl", "--json")
    assert code == 0

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    for text in (out, summary_text):
        metrics = json.loads(text, parse_constant=refuse)
        assert metrics["quality"]["verdict_a_rate"] is None  # no verdict at all: nothing measured

    empty_log = tmp_path / "empty.jsonl"
    empty_log.write_text("")
    code, _, err = cli(capsys, "score", "--benchmark", "rmbench", "--log", empty_log)
    assert code == 2 and err.strip() == f"rmr1 score: error: {empty_log}: the log has no lines, nothing to score"
    with pytest.raises(DataError, match="the log has no lines"):
        ev.score("rewardbench", [])
    for name, text in (("empty.json", "[]"), ("blank.jsonl", "\n\n")):
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError) as e:
            ev.load_comparisons("rewardbench", tmp_path / name)
        assert str(e.value) == f"{tmp_path / name}: no records (an empty benchmark file)"


# --- 5. Every benchmark field type-checked at load time, 1-based, file named -----------------------


def _replace(record, **changes):
    return {**record, **changes}


BOT_TURN = [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]
BAD_RECORDS = [
    # (benchmark, file suffix, bad record, expected message after "FILE: line/record 2: ")
    ("rmbench", ".jsonl", _replace(rmbench_item(2, "chat"), chosen="Jupiter"),
     "'chosen' must be an array of exactly 3 strings (concise, detailed, markdown), got a string"),
    ("rmbench", ".jsonl", _replace(rmbench_item(2, "chat"), rejected=["a", "b"]),
     "'rejected' must be an array of exactly 3 strings (concise, detailed, markdown), got an array of 2"),
    ("rmbench", ".json", _replace(rmbench_item(2, "chat"), chosen=["a", 3, "c"]),
     "'chosen' must be an array of exactly 3 strings (concise, detailed, markdown), got an array whose item 2 is a number"),
    ("rmbench", ".jsonl", _replace(rmbench_item(2, "chat"), prompt=None), "'prompt' must be a string, got null"),
    ("rmbench", ".jsonl", _replace(rmbench_item(2, "chat"), domain=4), "'domain' must be a string, got a number"),
    ("rmbench", ".jsonl", _replace(rmbench_item(2, "chat"), id=[2]), "'id' must be a string or an integer, got an array of 1"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), chosen="good"),
     "'chosen' must be an object with a string 'answer', got a string"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), reject={"llm_name": "m"}), "'reject' has no 'answer'"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), conversation_input=[{"content": "hi"}]),
     "conversation_input turn 1 has no 'role'"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), conversation_input=BOT_TURN),
     "conversation_input turn 2: unknown role 'bot' (expected system, user, assistant)"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), conversation_input=[{"role": "user", "content": ["a"]}]),
     "conversation_input turn 1: 'content' must be a string, got an array of 1"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), conversation_input="hi"),
     "'conversation_input' must be a non-empty array of turns, got a string"),
    ("rmb-pairwise", ".json", _replace(rmb_pair(2), category_path="Pairwise_set/Honesty/x"),
     "'category_path' 'Pairwise_set/Honesty/x' names no RMB goal (Helpfulness or Harmlessness second)"),
    ("rmb-bon", ".json", _replace(rmb_bon(2), loser_list=[]),
     "'loser_list' must be a non-empty array (at least one loser), got an array of 0"),
    ("rmb-bon", ".json", _replace(rmb_bon(2), loser_list=[{"llm_name": "m", "answer": "x"}, "y"]),
     "'loser_list' item 2 must be an object with a string 'answer', got a string"),
    ("rmb-bon", ".json", _replace(rmb_bon(2), bon_best={"answer": 5}), "'bon_best' 'answer' must be a string, got a number"),
    ("rewardbench", ".jsonl", _replace(rewardbench_item(2), prompt=7), "'prompt' must be a string, got a number"),
    ("rewardbench", ".jsonl", _replace(rewardbench_item(2), rejected={}), "'rejected' must be a string, got an object"),
    ("rewardbench", ".jsonl", _replace(rewardbench_item(2), subset=None), "'subset' must be a string, got null"),
    ("judgebench", ".jsonl", _replace(judgebench_item("p2"), label="A=B"), "label must be 'A>B' or 'B>A', got 'A=B'"),
    ("judgebench", ".jsonl", _replace(judgebench_item("p2"), label=None), "label must be 'A>B' or 'B>A', got None"),
    ("judgebench", ".jsonl", _replace(judgebench_item("p2"), response_B=[]), "'response_B' must be a string, got an array of 0"),
    ("judgebench", ".jsonl", [1, 2], "expected a JSON object, got an array of 2"),
    ("judgebench", ".jsonl", {"pair_id": "p2"}, "missing field(s) question, response_A, response_B, label, source"),
]  # fmt: skip
GOOD_RECORD = {
    "rmbench": rmbench_item(1, "chat"),
    "rmb-pairwise": rmb_pair(1),
    "rmb-bon": rmb_bon(1),
    "rewardbench": rewardbench_item(1),
    "judgebench": judgebench_item("p1"),
}


@pytest.mark.parametrize("benchmark, suffix, bad, message", BAD_RECORDS)
def test_every_benchmark_field_is_type_checked(tmp_path, benchmark, suffix, bad, message):
    path = tmp_path / f"bench{suffix}"
    (write_jsonl if suffix == ".jsonl" else write_json)(path, [GOOD_RECORD[benchmark], bad])
    with pytest.raises(DataError) as e:
        ev.load_comparisons(benchmark, path)
    where = "line 2" if suffix == ".jsonl" else "record 2"
    assert str(e.value) == f"{path}: {where}: {message}" and "\n" not in str(e.value)


def test_unreadable_benchmark_files_are_one_line(tmp_path):
    (tmp_path / "bad.json").write_text('[{"id": 1,}]')
    (tmp_path / "latin1.jsonl").write_bytes('{"prompt": "caf\xe9"}\n'.encode("latin-1"))
    (tmp_path / "object.json").write_text('{"id": 1}')
    (tmp_path / "folder").mkdir()
    cases = {
        tmp_path / "bad.json": "invalid JSON (Expecting property name enclosed in double quotes at line 1)",
        tmp_path / "latin1.jsonl": "line 1: not UTF-8 text",
        tmp_path / "object.json": "expected a JSON array of records, got an object",
        tmp_path / "folder": "is a folder; expected a .jsonl, .json or .parquet file",
        tmp_path / "missing.jsonl": "file not found",
    }
    for path, message in cases.items():
        with pytest.raises(DataError) as e:
            ev.load_comparisons("rewardbench", path)
        assert str(e.value) == f"{path}: {message}"
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps([rewardbench_item(1)]).encode())
    assert len(ev.load_comparisons("rewardbench", bom)) == 1


def test_gzip_files_read_as_their_contents_and_damaged_ones_are_one_line(tmp_path):
    import gzip

    folder = tmp_path / "rmbench"
    folder.mkdir()
    (folder / "code_filtered.json.gz").write_bytes(gzip.compress(json.dumps([rmbench_item(1, prefix="code")]).encode()))
    write_json(folder / "chat_filtered.json", [rmbench_item(1, prefix="chat")])
    # the domain comes from the name of a compressed per-domain file too; a folder mixes both
    assert {c["domain"] for c in ev.load_comparisons("rmbench", folder / "code_filtered.json.gz")} == {"code"}
    assert [c["domain"] for c in ev.load_comparisons("rmbench", folder)[::9]] == ["chat", "code"]
    rb = tmp_path / "rb.jsonl"
    write_jsonl(rb, [rewardbench_item(1), rewardbench_item(2)])
    (tmp_path / "rb.jsonl.gz").write_bytes(gzip.compress(rb.read_bytes()))
    assert ev.load_comparisons("rewardbench", tmp_path / "rb.jsonl.gz") == ev.load_comparisons("rewardbench", rb)

    (tmp_path / "plain.jsonl.gz").write_bytes(rb.read_bytes())  # named .gz, not compressed
    (tmp_path / "cut.json.gz").write_bytes(gzip.compress(json.dumps([rewardbench_item(1)] * 50).encode())[:-30])
    (tmp_path / "bad.json.gz").write_bytes(gzip.compress(b'[{"id": 1,}]'))
    (tmp_path / "latin1.jsonl.gz").write_bytes(gzip.compress('{"prompt": "caf\xe9"}\n'.encode("latin-1")))
    cases = {
        "plain.jsonl.gz": "line 1: not readable as gzip data (Not a gzipped file (b'{\"'))",
        "cut.json.gz": "the gzip file is cut short (an incomplete download?)",
        "bad.json.gz": "invalid JSON (Expecting property name enclosed in double quotes at line 1)",
        "latin1.jsonl.gz": "line 1: not UTF-8 text",
        "missing.jsonl.gz": "file not found",
    }
    for name, message in cases.items():
        with pytest.raises(DataError) as e:
            ev.load_comparisons("rewardbench", tmp_path / name)
        assert str(e.value) == f"{tmp_path / name}: {message}"


def test_limit_must_be_at_least_one(tmp_path, capsys):
    data = write_jsonl(tmp_path / "rb.jsonl", [rewardbench_item(1), rewardbench_item(2)])
    assert len(ev.load_comparisons("rewardbench", data, limit=1)) == 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(DataError, match=r"--limit must be a whole number of items, at least 1"):
            ev.load_comparisons("rewardbench", data, limit=bad)
    code, _, err = cli(capsys, "evaluate", "--benchmark", "rewardbench", "--data", data, "--out", tmp_path / "out",
                       "--limit", "-1", "--backend", "openai", "--model", "never-called", "--base-url", "http://127.0.0.1:9/v1",
                       "--quiet")  # fmt: skip
    assert code == 2 and err.strip() == "rmr1 evaluate: error: argument --limit: must be >= 1, got -1 (see rmr1 evaluate --help)"


def test_a_string_chosen_is_one_line_from_the_real_cli(tmp_path):
    data = write_jsonl(tmp_path / "rmbench.jsonl", [_replace(rmbench_item(1, "chat"), chosen="Jupiter")])
    result = run_rmr1("evaluate", "--benchmark", "rmbench", "--data", str(data), "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"rmr1 evaluate: error: {data}: line 1: 'chosen' must be an array of exactly 3 strings (concise, detailed, "
        "markdown), got a string"
    ]


# --- 6. Truncated judgements are reported, loudly --------------------------------------------------


def test_judgements_cut_at_max_new_tokens_are_reported(tmp_path, capsys):
    data = write_jsonl(tmp_path / "rb.jsonl", [rewardbench_item(k) for k in range(1, 5)])

    def replies(request):  # items 1 and 2: cut before the verdict; item 3: cut after it; item 4: complete
        user = request["messages"][-1]["content"]
        if "q1\n" in user or "q2\n" in user:
            return [(VERDICT_A.split("<answer>")[0], "length")]
        return [(VERDICT_A, "length" if "q3\n" in user else "stop")]

    summary = evaluate_with(replies, "rewardbench", data, tmp_path / "cut", max_new_tokens=64)
    assert summary["quality"]["truncation_rate"] == 0.5  # a cut judgement that still has its verdict is not counted
    assert summary["max_new_tokens"] == 64
    err = capsys.readouterr().err
    assert "WARNING: 50.0% of the rewardbench judgements were cut at max_new_tokens=64 before their verdict" in err
    assert json.loads((tmp_path / "cut" / "summary.json").read_text())["quality"]["truncation_rate"] == 0.5
    assert "truncation_rate=0.500" in ev.format_scores(summary)

    clean = evaluate_with(lambda request: [VERDICT_A], "rewardbench", data, tmp_path / "clean")
    assert clean["quality"]["truncation_rate"] == 0 and "WARNING" not in capsys.readouterr().err


def test_an_empty_rmbench_matrix_cell_is_named_where_the_headline_is_na():
    # items that really have 8 comparisons (a file whose samples lack one chosen style): complete, by item_size
    log = [{"key": f"{item}-{i}{j}", "id": item, "benchmark": "rmbench", "subset": "chat", "domain": "chat", "cell": [i, j],
            "better_position": "A", "verdict": "A", "correct": True, "length_diff": 1, "item_size": 8}
           for item in (1, 2) for i in range(3) for j in range(3) if (i, j) != (0, 2)]  # fmt: skip
    summary = ev.score("rmbench", log, resamples=0)
    assert summary["score"] != summary["score"] and summary["normal"] == 1.0  # NaN headline, the diagonal is there
    note = next(n for n in summary["notes"] if "matrix cell" in n)
    assert note == ("domain 'chat': matrix cell(s) [0, 2] ([chosen style, rejected style]) have no judged comparison, "
                    "so its hard level and its score are n/a, and so is the overall score")  # fmt: skip
    assert "rmbench: score n/a" in ev.format_scores(summary) and f"note: {note}" in ev.format_scores(summary)
