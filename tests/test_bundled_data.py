"""The data the project ships: every raw file converts cleanly, benchmark samples have their formats."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from rmr1_utils.converters import CONVERTERS, detect_format

from .conftest import DATA_DIR

RAW = {
    "skywork_style.jsonl": "skywork",
    "code_preference_pairs.jsonl": "code-preference",
    "math_step_dpo.jsonl": "math-step-dpo",
    "ultrafeedback_style.jsonl": "generic",
    "hh_rlhf_style.jsonl": "hh-rlhf",
}


def _lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_raw_files_convert_without_a_single_error():
    pairs, dropped = [], 0
    for name, fmt in RAW.items():
        for record in _lines(DATA_DIR / "raw" / name):
            assert detect_format(record) == fmt, name
            pair = CONVERTERS[fmt](record)
            if pair is None:
                dropped += 1
            else:
                pairs.append(pair)
    assert len(pairs) >= 150 and dropped == 2  # the magpie_ultra items
    domains = Counter(p["domain"] for p in pairs)
    assert set(domains) == {"chat", "safety", "math", "code"} and min(domains.values()) >= 20
    assert sum("context" in p for p in pairs) >= 20  # multi-turn items
    assert len({p["id"] for p in pairs}) == len(pairs)
    # Rejected answers are not simply the short ones: verbosity must not predict the label.
    longer_rejected = sum(len(p["rejected"]) > len(p["chosen"]) for p in pairs)
    assert 0.2 < longer_rejected / len(pairs) < 0.8


BENCH_FIELDS = {
    "rewardbench_sample.jsonl": {"prompt", "chosen", "rejected", "subset", "id"},
    "rmbench_sample.jsonl": {"id", "prompt", "chosen", "rejected", "domain"},
    "judgebench_sample.jsonl": {"pair_id", "question", "response_A", "response_B", "label", "source"},
}


@pytest.mark.parametrize("name", sorted(BENCH_FIELDS))
def test_benchmark_samples_have_their_fields(name):
    records = _lines(DATA_DIR / "bench" / name)
    assert records and all(BENCH_FIELDS[name] <= set(r) for r in records)
    if name == "rmbench_sample.jsonl":
        assert all(len(r["chosen"]) == 3 and len(r["rejected"]) == 3 for r in records)
    if name == "judgebench_sample.jsonl":
        assert Counter(r["label"] for r in records) == {"A>B": 6, "B>A": 6}


def test_rmb_samples():
    pairwise = json.loads((DATA_DIR / "bench" / "rmb_pairwise_sample.json").read_text())
    bon = json.loads((DATA_DIR / "bench" / "rmb_bon_sample.json").read_text())
    assert all({"pair_uid", "conversation_input", "chosen", "reject", "category_path"} <= set(r) for r in pairwise)
    assert all({"bon_uid", "conversation_input", "bon_best", "loser_list", "category_path"} <= set(r) for r in bon)
    assert all(r["loser_list"] for r in bon)


# --- the chain-of-rubrics traces for distillation -------------------------------------------


def _shown(user: str, side: str) -> str:
    """What the judge saw as Chatbot ``side``: its response, or its whole conversation."""
    if f"[The Start of Chatbot {side}'s Response]" in user:
        return user.split(f"[The Start of Chatbot {side}'s Response]\n")[1].split(f"\n[The End of Chatbot {side}'s Response]")[0]
    start = f"[The Start of the Conversation between Chatbot {side} and the Client]\n"
    return user.split(start)[1].split(f"\n[The End of the Conversation between Chatbot {side}")[0]


@pytest.fixture(scope="module")
def cor_traces():
    from rmr1_utils.data import load_judge_tasks

    return load_judge_tasks(DATA_DIR / "traces" / "cor_traces.jsonl")


def test_at_least_60_traces_in_the_released_format(cor_traces):
    raw = [json.loads(line) for line in (DATA_DIR / "traces" / "cor_traces.jsonl").read_text().splitlines()]
    assert len(raw) >= 60 and len({r["id"] for r in raw}) == len(raw)
    for record in raw:
        assert [m["role"] for m in record["context_messages"]] == ["system", "user", "assistant"]
        assert record["winner"] in ("model_a", "model_b")
    assert set(Counter(t["domain"] for t in cor_traces)) == {"chat", "safety", "code", "math"}
    assert 0.4 < sum(t["winner"] == "model_a" for t in cor_traces) / len(cor_traces) < 0.6


def test_every_trace_is_a_complete_chain_reaching_the_labelled_verdict(cor_traces):
    from rmr1_utils.judgement import parse_judgement, winner_to_letter

    for t in cor_traces:
        j = parse_judgement(t["trace"], verdict_rule="strict")
        where = t["id"]
        assert j.format_complete and not j.truncated, where
        assert j.verdict == winner_to_letter(t["winner"]), where
        assert parse_judgement(t["trace"]).verdict == j.verdict, where  # RM-R1's own rule agrees
        assert t["trace"].count("[[A]]") + t["trace"].count("[[B]]") == 1, where
        expected_type = "Chat" if t["domain"] in ("chat", "safety") else "Reasoning"
        assert j.task_type == expected_type, where
        if expected_type == "Chat":
            weights = [item.weight for item in j.rubric_items]
            assert len(weights) >= 2 and None not in weights and abs(sum(weights) - 1) < 0.011, where
            assert j.justification, where
        else:
            assert j.solution and len(j.solution) > 40, where
        assert (j.quotes_a or j.summaries_a) and (j.quotes_b or j.summaries_b), where
        user = t["messages"][-1]["content"]
        for side, quotes in (("A", j.quotes_a), ("B", j.quotes_b)):
            for quote in quotes:
                assert quote.strip() in _shown(user, side), f"{where}: quote_{side} is not verbatim: {quote[:60]!r}"


def test_every_trace_belongs_to_a_bundled_pair_byte_for_byte(cor_traces):
    """Each trace's prompt is what `rmr1 prepare --recipe tiny-local` renders for a bundled pair."""
    from rmr1_utils.judgement import winner_to_letter
    from rmr1_utils.models import load_tokenizer
    from rmr1_utils.prepare import collect_sources, fit_to_budget, load_recipe

    config, path = load_recipe("tiny-local")
    pairs = {p["id"]: p for p in collect_sources(config, path.parent).pairs}
    tokenizer = load_tokenizer(config.tokenizer)
    for t in cor_traces:
        assert t["id"] in pairs, t["id"]
        task, _, status = fit_to_budget(
            pairs[t["id"]], winner_to_letter(t["winner"]), config.style, tokenizer, config.max_prompt_tokens, config.overlong
        )
        assert status != "dropped" and task["messages"] == t["messages"], t["id"]
