"""``rmr1 prepare``: recipes, validation (raise and skip), balance, token budget, outputs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import datasets
import pytest
import yaml

from rmr1_utils import prepare as prep
from rmr1_utils.converters import make_pair
from rmr1_utils.data import pair_to_judge_task
from rmr1_utils.errors import DataError
from rmr1_utils.formats import build_judge_messages
from rmr1_utils.sources import resolve_source_path

from .conftest import REPO_ROOT, run_rmr1

RECIPES = sorted((REPO_ROOT / "recipes" / "data").glob("*.yaml"))


def _msg(role, content):
    return {"role": role, "content": content}


GOOD_SKY = {
    "chosen": [_msg("user", "Q"), _msg("assistant", "good")],
    "rejected": [_msg("user", "Q"), _msg("assistant", "bad")],
    "source": "s",
}

# (format, bad raw line, reason code, message fragment): one per kind of bad input.
BAD_INPUTS = [
    ("skywork", "{not json", "malformed_json", "line 2: invalid JSON"),
    ("skywork", "[1, 2]", "not_an_object", "expected a JSON object, got list"),
    ("code-preference", {"input": "Q", "rejected": "bad"}, "missing_field", "missing field 'accepted'"),
    ("code-preference", {"input": "Q", "accepted": "  \n", "rejected": "bad"}, "empty_response", "chosen response is empty"),
    (
        "code-preference",
        {"input": "Q", "accepted": "same", "rejected": "same"},
        "identical_responses",
        "chosen and rejected are identical",
    ),
    (
        "code-preference",
        {"input": "Q", "accepted": ["x"], "rejected": "bad"},
        "non_string_content",
        "'accepted' must be a string",
    ),
    (
        "skywork",
        {**GOOD_SKY, "chosen": [_msg("user", "Q"), {"role": "user", "content": 3}]},
        "non_string_content",
        "content must be a string",
    ),
    ("skywork", {**GOOD_SKY, "chosen": [_msg("bot", "Q"), _msg("assistant", "good")]}, "unknown_role", "unknown role 'bot'"),
    (
        "skywork",
        {**GOOD_SKY, "chosen": [_msg("user", "Q"), _msg("assistant", "a"), _msg("user", "more?")]},
        "not_ending_with_assistant",
        "does not end with an assistant turn",
    ),
    (
        "skywork",
        {**GOOD_SKY, "rejected": [_msg("user", "Another Q"), _msg("assistant", "bad")]},
        "different_prompts",
        "different prompts",
    ),
    (
        "rmr1",
        {"context_messages": build_judge_messages(question="q", answer_a="a", answer_b="b"), "winner": "tie"},
        "unknown_winner",
        "unknown winner 'tie'",
    ),
    ("hh-rlhf", {"chosen": "Human: hi Assistant: yo", "rejected": "\n\nHuman: hi\n\nAssistant: no"}, "bad_transcript", "not a"),
]
GOOD = {
    "skywork": GOOD_SKY,
    "code-preference": {"input": "Q", "accepted": "good", "rejected": "bad"},
    "rmr1": {"context_messages": build_judge_messages(question="q", answer_a="a", answer_b="b"), "winner": "model_a"},
    "hh-rlhf": {"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"},
}

GOOD_2 = {  # a second, different good record (identical ones are removed as duplicates)
    "skywork": {
        **GOOD_SKY,
        "chosen": [_msg("user", "Q2"), _msg("assistant", "good")],
        "rejected": [_msg("user", "Q2"), _msg("assistant", "bad")],
    },
    "code-preference": {"input": "Q2", "accepted": "good", "rejected": "bad"},
    "rmr1": {"context_messages": build_judge_messages(question="q2", answer_a="a", answer_b="b"), "winner": "model_b"},
    "hh-rlhf": {"chosen": "\n\nHuman: hey\n\nAssistant: hello", "rejected": "\n\nHuman: hey\n\nAssistant: go away"},
}


def _write_source(tmp_path: Path, fmt: str, bad) -> Path:
    path = tmp_path / f"{fmt}.jsonl"
    bad_line = bad if isinstance(bad, str) else json.dumps(bad)
    path.write_text(json.dumps(GOOD[fmt]) + "\n" + bad_line + "\n" + json.dumps(GOOD_2[fmt]) + "\n")
    return path


def _config(path: Path, fmt: str, **kw) -> prep.PrepareConfig:
    return prep.PrepareConfig(sources=[prep.SourceConfig(name=fmt, path=str(path), format=fmt)], tokenizer=None, **kw)


@pytest.mark.parametrize("fmt, bad, reason, fragment", BAD_INPUTS, ids=[b[2] + "-" + b[0] for b in BAD_INPUTS])
def test_bad_input_raises_one_line_naming_file_and_record(tmp_path, fmt, bad, reason, fragment):
    path = _write_source(tmp_path, fmt, bad)
    with pytest.raises(DataError) as e:
        prep.prepare(_config(path, fmt), progress=False)
    message = str(e.value)
    assert message.startswith(f"{path}: record 2: ") and fragment in message and "\n" not in message


@pytest.mark.parametrize("fmt, bad, reason, fragment", BAD_INPUTS, ids=[b[2] + "-" + b[0] for b in BAD_INPUTS])
def test_bad_input_skipped_and_counted(tmp_path, fmt, bad, reason, fragment):
    path = _write_source(tmp_path, fmt, bad)
    result = prep.prepare(_config(path, fmt, on_error="skip"), progress=False)
    summary = result["summary"]
    assert summary["skipped"] == {reason: 1} and summary["skipped_total"] == 1
    assert summary["skipped_examples"][0].startswith(f"{path}: record 2: ")
    assert summary["counts"]["train"] == 2  # the good records around it are kept


def test_cli_bad_input_exit_code_2_no_traceback(tmp_path):
    path = _write_source(tmp_path, "code-preference", {"input": "Q", "accepted": "same", "rejected": "same"})
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        yaml.safe_dump({"tokenizer": None, "sources": [{"name": "c", "path": str(path), "format": "code-preference"}]})
    )
    result = run_rmr1("prepare", "--recipe", str(recipe), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"rmr1 prepare: error: {path}: record 2: chosen and rejected are identical"]
    result = run_rmr1("prepare", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--on-error", "skip")
    assert result.returncode == 0, result.stderr
    assert "skipped 1 bad records: identical_responses=1" in result.stdout
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["skipped"] == {"identical_responses": 1}


@pytest.mark.parametrize("recipe", RECIPES, ids=[r.stem for r in RECIPES])
def test_every_bundled_recipe_parses(recipe):
    config, path = prep.load_recipe(recipe.stem)
    assert path == recipe and config.sources
    for source in config.sources:
        if source.path:
            assert resolve_source_path(source.path, recipe.parent).exists(), source.path


def test_recipe_unknown_keys_fail(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"sources": [{"name": "x", "generator": "math", "n": 2, "shufle_seed": 1}]}))
    with pytest.raises(DataError, match="unknown key\\(s\\) shufle_seed"):
        prep.load_recipe(bad)
    bad.write_text(yaml.safe_dump({"sourcess": []}))
    with pytest.raises(DataError, match="unknown key\\(s\\) sourcess"):
        prep.load_recipe(bad)
    with pytest.raises(DataError, match="unknown recipe 'nope'"):
        prep.load_recipe("nope")


def test_rmr1_mix_is_the_papers_mix():
    config, _ = prep.load_recipe("rmr1-mix")
    by_name = {s.name: s for s in config.sources}
    assert by_name["skywork"].hub == "Skywork/Skywork-Reward-Preference-80K-v0.2"
    code = by_name["code-preference-pairs"]
    assert (code.hub, code.shuffle_seed, code.max_pairs) == ("Vezora/Code-Preference-Pairs", 42, 8000)
    assert by_name["math-step-dpo"].hub == "xinlai/Math-Step-DPO-10K"


def test_local_shuffle_matches_datasets_shuffle():
    ds = datasets.Dataset.from_dict({"i": list(range(50))})
    assert prep.shuffled_indices(50, 42) == ds.shuffle(seed=42)["i"]


def test_tiny_local_recipe_end_to_end(tmp_path):
    result = run_rmr1("prepare", "--recipe", "tiny-local", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    dataset = datasets.load_from_disk(str(tmp_path / "dataset"))
    assert set(dataset) == {"train", "test"}
    assert len(dataset["train"]) == summary["counts"]["train"] and len(dataset["test"]) == summary["counts"]["test"]
    assert set(dataset["train"].column_names) == {"id", "source", "domain", "messages", "winner"}
    assert sum(summary["counts"].values()) >= 150
    assert summary["filtered"] == {"skywork/magpie_ultra": 2}
    train = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert [t["id"] for t in train] == dataset["train"]["id"]
    assert set(t["domain"] for t in train) == {"chat", "safety", "math", "code"}
    for key in ("source", "domain"):
        per = {}
        for t in train:
            per.setdefault(t[key], Counter())[t["winner"]] += 1
        assert all(abs(c["model_a"] - c["model_b"]) <= 1 for c in per.values()), (key, per)
    assert not set(t["id"] for t in train) & set(dataset["test"]["id"])  # no pair in both splits
    stats = summary["prompt_tokens"]["train"]
    assert stats["p50"] <= stats["p90"] <= stats["max"] <= 2048
    assert "by source:" in result.stdout and "prompt tokens (train): min=" in result.stdout


def test_same_seed_same_dataset_other_seed_other_placement(tmp_path):
    config, path = prep.load_recipe("tiny-local")
    config.tokenizer = None
    first = prep.prepare(config, base=path.parent, progress=False)
    again = prep.prepare(config, base=path.parent, progress=False)
    assert first["train"] == again["train"]
    config.seed = 1
    other = prep.prepare(config, base=path.parent, progress=False)
    assert [t["winner"] for t in other["train"]] != [t["winner"] for t in first["train"]]


@pytest.fixture(scope="module")
def embedded_tokenizer():
    from rmr1_utils.models import load_tokenizer

    return load_tokenizer("embedded")


def test_budget_truncates_only_the_shared_prompt(embedded_tokenizer):
    question = "Background: " + "the quick brown fox jumps over the lazy dog. " * 60 + "So, what is 2 + 2?"
    pair = make_pair("t", "math", "2 + 2 = 4.", "2 + 2 = 5.", prompt=question)
    full = prep.prompt_tokens(embedded_tokenizer, pair_to_judge_task(pair, "A")["messages"])
    budget = full - 200
    at_a, n_a, status = prep.fit_to_budget(pair, "A", "instruct", embedded_tokenizer, budget, "truncate")
    at_b, n_b, _ = prep.fit_to_budget(pair, "B", "instruct", embedded_tokenizer, budget, "truncate")
    assert status == "truncated" and n_a <= budget and n_b <= budget
    user = at_a["messages"][-1]["content"]
    assert "So, what is 2 + 2?" in user and "[Client Question]\n…" in user  # cut from the left
    assert "2 + 2 = 4." in user and "2 + 2 = 5." in user  # responses intact
    # Label independence: the two orders are exact swaps of each other.
    swapped = user.replace("2 + 2 = 4.", "\0").replace("2 + 2 = 5.", "2 + 2 = 4.").replace("\0", "2 + 2 = 5.")
    assert swapped == at_b["messages"][-1]["content"]
    dropped, _, status = prep.fit_to_budget(pair, "A", "instruct", embedded_tokenizer, budget, "drop")
    assert dropped is None and status == "dropped"


def test_budget_drops_earliest_context_turns_first(embedded_tokenizer):
    long_turn = "Tell me everything about rivers. " * 40
    context = [_msg("user", long_turn), _msg("assistant", "Rivers are long. " * 30), _msg("user", "And the Nile?")]
    pair = make_pair("t", "chat", "The Nile is about 6,650 km long.", "The Nile is short.", context=context)
    full = prep.prompt_tokens(embedded_tokenizer, pair_to_judge_task(pair, "A")["messages"])
    task, n, status = prep.fit_to_budget(pair, "A", "instruct", embedded_tokenizer, full - 300, "truncate")
    assert status == "truncated" and n <= full - 300
    user = task["messages"][-1]["content"]
    assert "And the Nile?" in user and "Tell me everything" not in user


def test_local_parquet_and_json_sources(tmp_path):
    records = [{"input": f"Q{i}", "accepted": f"good {i}", "rejected": f"bad {i}"} for i in range(6)]
    datasets.Dataset.from_list(records).to_parquet(str(tmp_path / "code.parquet"))
    (tmp_path / "code.json").write_text(json.dumps(records[:3]))
    config = prep.PrepareConfig(
        sources=[
            prep.SourceConfig(name="pq", path=str(tmp_path / "code.parquet"), format="auto", shuffle_seed=42, max_pairs=4),
            prep.SourceConfig(name="js", path=str(tmp_path / "code.json"), format="code-preference"),
        ],
        tokenizer=None,
    )
    result = prep.prepare(config, progress=False)
    assert result["summary"]["by_source"]["train"] == {"js": 3, "pq": 4}
    # The cap is applied after the seeded shuffle, with datasets' own permutation.
    expected = {records[i]["input"] for i in prep.shuffled_indices(6, 42)[:4]}
    kept = {t["messages"][-1]["content"].split("\n")[1] for t in result["train"] if t["source"] == "pq"}
    assert kept == expected


def test_hub_source_without_network_is_one_clear_line():
    # No HF_HUB_OFFLINE: the real probe must find out there is no network, quickly.
    from rmr1_utils.hub import OFFLINE, hub_status

    if hub_status("Vezora/Code-Preference-Pairs", "dataset") != OFFLINE:
        pytest.skip("the Hub is reachable here; this test is about the offline path")
    config = prep.PrepareConfig(sources=[prep.SourceConfig(name="x", hub="Vezora/Code-Preference-Pairs")], tokenizer=None)
    with pytest.raises(DataError) as e:
        prep.prepare(config, progress=False)
    assert str(e.value) == "Vezora/Code-Preference-Pairs[train]: cannot load from the Hub (no network and not in the local cache)"


def test_budget_report_claims_nothing_it_did_not_measure():
    summary = {"recipe": "r", "style": "instruct", "seed": 0, "counts": {}, "by_source": {}, "by_domain": {}, "by_winner": {},
               "skipped_total": 0, "filtered": {}, "duplicates": 0, "prompt_tokens": {},
               "overlong": {"policy": "drop", "budget": 1024, "measured": False}}  # fmt: skip
    assert "token budget 1024: not checked (no tokenizer in the recipe)" in prep.format_summary(summary)
    summary["overlong"].update(measured=True)
    assert "token budget 1024: all prompts fit" in prep.format_summary(summary)
    summary["overlong"].update(dropped=3)
    assert "token budget 1024: dropped=3" in prep.format_summary(summary)


def test_records_lost_on_the_way_are_a_loud_warning_and_counted_per_source(tmp_path, capsys):
    """Some records skipped as bad and some prompts over the budget, others kept: the dataset is written
    (exit 0), and stderr says what was lost even with --quiet; summary.json counts it per source."""
    from rmr1_utils.cli import main as rmr1_main

    long_question = "Explain this carefully. " * 60
    pairs = [{"id": f"p{k}", "prompt": (long_question if k < 2 else "") + f"What is {k}+{k}?", "chosen": str(2 * k),
              "rejected": str(2 * k + 1)} for k in range(5)]  # fmt: skip
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in pairs) + json.dumps({"id": "bad", "prompt": "q"}) + "\n")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("on_error: skip\nmax_prompt_tokens: 1000\nsources:\n  - {name: a, path: pairs.jsonl, format: pairs}\n")
    code = rmr1_main(["prepare", "--recipe", str(recipe), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 0
    assert err == (
        "WARNING: 1 of 6 records skipped as bad (missing_field=1); 2 prompts over the token budget of 1000 dropped "
        "(per source in summary.json)"
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sources"] == [
        {"name": "a", "where": str(source), "records": 6, "skipped": 1, "filtered": 0, "duplicates": 0, "kept": 5,
         "over_budget": 2, "written": 3}
    ]  # fmt: skip
    assert summary["counts"] == {"train": 3, "test": 0}
