"""Preference pairs → judge tasks: loading errors, balanced seeded placement, label-free rendering."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rmr1_utils.data import assign_positions, load_pairs, pair_to_judge_task, read_jsonl
from rmr1_utils.errors import DataError

from .conftest import DATA_DIR

QUICKSTART = DATA_DIR / "quickstart_pairs.jsonl"


def test_bundled_pairs_load_and_cover_every_domain():
    pairs = load_pairs(QUICKSTART)
    assert len(pairs) >= 8
    assert {p["domain"] for p in pairs} == {"chat", "safety", "math", "code"}
    assert any("context" in p for p in pairs)  # one multi-turn item


def test_positions_are_balanced_per_group_and_seeded():
    pairs = [
        {"id": str(i), "source": s, "domain": d}
        for i, (s, d) in enumerate([("x", "chat")] * 7 + [("x", "math")] * 4 + [("y", "chat")] * 5 + [("y", "code")] * 1)
    ]
    positions = assign_positions(pairs, seed=3)
    for group in {(p["source"], p["domain"]) for p in pairs}:
        counts = Counter(pos for p, pos in zip(pairs, positions) if (p["source"], p["domain"]) == group)
        assert abs(counts["A"] - counts["B"]) <= 1
    assert assign_positions(pairs, seed=3) == positions
    assert any(assign_positions(pairs, seed=s) != positions for s in range(4, 10))
    assert positions[:7] != ["A", "B"] * 3 + ["A"]  # not simply file order


def _swap(text: str, x: str, y: str) -> str:
    return text.replace(x, "\0").replace(y, x).replace("\0", y)


@pytest.mark.parametrize("style", ["instruct", "reasoning"])
def test_both_orders_are_exact_swaps(style):
    for pair in load_pairs(QUICKSTART):
        at_a = pair_to_judge_task(pair, "A", style=style)
        at_b = pair_to_judge_task(pair, "B", style=style)
        assert (at_a["winner"], at_b["winner"]) == ("model_a", "model_b")
        text_a = json.dumps(at_a["messages"])
        text_b = json.dumps(at_b["messages"])
        # Swap the two responses (and nothing else) in one rendering: it must give the other.
        chosen, rejected = json.dumps(pair["chosen"])[1:-1], json.dumps(pair["rejected"])[1:-1]
        assert _swap(text_a, chosen, rejected) == text_b


def test_multi_turn_pair_renders_whole_conversations():
    pair = next(p for p in load_pairs(QUICKSTART) if "context" in p)
    user = pair_to_judge_task(pair, "B")["messages"][-1]["content"]
    assert "[The Start of the Conversation between Chatbot A and the Client]" in user
    assert f"Chatbot B: {pair['chosen']}" in user and f"Chatbot A: {pair['rejected']}" in user
    assert user.count("User: ") == 2 * sum(m["role"] == "user" for m in pair["context"])


@pytest.mark.parametrize(
    "line, message",
    [
        ("{bad json", "line 2: invalid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"id": "x", "prompt": "q", "chosen": "a"}', "record 2: missing field 'rejected'"),
        ('{"id": "x", "prompt": "q", "chosen": "  ", "rejected": "b"}', "record 2: chosen response is empty"),
        ('{"id": "x", "prompt": "q", "chosen": "same", "rejected": "same"}', "record 2: chosen and rejected are identical"),
        ('{"id": "x", "prompt": "q", "chosen": 3, "rejected": "b"}', "record 2: 'chosen' must be a string"),
        ('{"id": "x", "context": [{"role": "bot", "content": "q"}], "chosen": "a", "rejected": "b"}', "unknown role 'bot'"),
        (
            '{"id": "x", "context": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "r"}], "chosen": "a", "rejected": "b"}',  # noqa: E501
            "must end with a user turn",
        ),
        ('{"id": "x", "prompt": "q", "chosen": "a", "rejected": "b", "domain": "poetry"}', "unknown domain 'poetry'"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, line, message):
    path = tmp_path / "pairs.jsonl"
    good = json.dumps({"id": "ok", "prompt": "q", "chosen": "a", "rejected": "b"})
    path.write_text(good + "\n" + line + "\n")
    with pytest.raises(DataError) as e:
        load_pairs(path)
    assert str(e.value).startswith(str(path)) and message in str(e.value)


def test_missing_file():
    with pytest.raises(DataError, match="file not found"):
        read_jsonl("/nonexistent/pairs.jsonl")


def test_every_jsonl_and_json_reader_reads_gzip(tmp_path):
    """One opener (``data.open_text``) behind every reader: ``.jsonl.gz``/``.json.gz`` read as their contents."""
    import gzip

    from rmr1_utils.data import data_suffix, read_json_list
    from rmr1_utils.sources import _read_local

    records = [{"id": k, "text": f"caf\u00e9 {k}"} for k in range(3)]
    (tmp_path / "r.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode()))
    (tmp_path / "r.json.gz").write_bytes(gzip.compress(json.dumps(records).encode()))
    assert read_jsonl(tmp_path / "r.jsonl.gz") == records == read_json_list(tmp_path / "r.json.gz")
    assert _read_local(tmp_path / "r.jsonl.gz") == records == _read_local(tmp_path / "r.json.gz")  # rmr1 prepare's sources
    assert [data_suffix(n) for n in ("a.jsonl.gz", "a.json.gz", "a.jsonl", "a.tar.gz")] == [".jsonl", ".json", ".jsonl", ".tar"]
