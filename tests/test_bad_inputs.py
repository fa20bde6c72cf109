"""Every stage, fed bad input the way a hurried user would: exit code 2, one line, no traceback, and the
line names what to fix — the file and its 1-based record or line, or the flag or YAML key.

The CLI runs in this process (``rmr1_utils.cli.main``: the same code as the console script, without
paying for a Python start-up per case); ``test_cli.py`` runs the real console script.
"""

from __future__ import annotations

import json

import pytest

from rmr1_utils.cli import main as rmr1_main

from .conftest import DATA_DIR, REPO_ROOT

QUICKSTART = DATA_DIR / "quickstart_pairs.jsonl"
BENCH = REPO_ROOT / "data" / "bench"
PAIR = {"id": "p1", "prompt": "What is 2+2?", "chosen": "4", "rejected": "5"}
RB = {"id": 1, "prompt": "q", "chosen": "good", "rejected": "bad", "subset": "alpacaeval-easy"}
RM3 = {"id": "r1", "prompt": "q", "chosen": ["a", "b", "c"], "rejected": ["d", "e", "f"], "domain": "chat"}
RMB_PAIR = {"pair_uid": "u1", "category_path": "Pairwise_set/Helpfulness/Chat/Open QA",
            "conversation_input": [{"role": "user", "content": "q"}],
            "chosen": {"answer": "good"}, "reject": {"answer": "bad"}}  # fmt: skip
RMB_BON = {"bon_uid": "b1", "category_path": "BoN_set/Helpfulness/Chat/Open QA",
           "conversation_input": [{"role": "user", "content": "q"}],
           "bon_best": {"answer": "good"}, "loser_list": [{"answer": "bad"}]}  # fmt: skip
JB = {"pair_id": "j1", "question": "q", "response_A": "a", "response_B": "b", "label": "A>B", "source": "mmlu-pro-x"}
TASK = {"id": "t1", "messages": [{"role": "user", "content": "judge this"}], "winner": "model_a"}
PRESET = "eval_max_new_tokens: 16\n"


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


#: name → (files to write: name → text or bytes, argv with {tmp} for the folder, what the line must name)
CASES: dict[str, tuple[dict, list[str], str]] = {
    # rmr1 judge: flags
    "judge max-new-tokens 0": ({}, ["judge", "--data", str(QUICKSTART), "--max-new-tokens", "0"], "--max-new-tokens"),
    "judge batch-size 0": ({}, ["judge", "--data", str(QUICKSTART), "--batch-size", "0"], "--batch-size"),
    "judge limit -1": ({}, ["judge", "--data", str(QUICKSTART), "--limit", "-1"], "--limit"),
    "judge temperature -1": ({}, ["judge", "--data", str(QUICKSTART), "--temperature", "-1"], "--temperature"),
    "judge top-p 0": ({}, ["judge", "--data", str(QUICKSTART), "--top-p", "0"], "--top-p"),
    "judge top-p 1.5": ({}, ["judge", "--data", str(QUICKSTART), "--top-p", "1.5"], "--top-p"),
    "judge seed abc": ({}, ["judge", "--data", str(QUICKSTART), "--seed", "abc"], "--seed"),
    "judge seed nan": ({}, ["judge", "--data", str(QUICKSTART), "--temperature", "nan"], "--temperature"),
    "judge show -1": ({}, ["judge", "--data", str(QUICKSTART), "--show", "-1"], "--show"),
    "judge max-concurrency 0": ({}, ["judge", "--data", str(QUICKSTART), "--max-concurrency", "0"], "--max-concurrency"),
    "judge unknown flag": ({}, ["judge", "--data", str(QUICKSTART), "--max-new-token", "8"], "--max-new-token"),
    "judge openai without url": ({}, ["judge", "--data", str(QUICKSTART), "--backend", "openai"], "--base-url"),
    # rmr1 judge: data
    "judge missing file": ({}, ["judge", "--data", "{tmp}/nope.jsonl"], "nope.jsonl: file not found"),
    "judge folder as data": ({}, ["judge", "--data", "{tmp}"], "is a folder"),
    "judge non-UTF-8": ({"p.jsonl": b"\xff\xfe{}\n"}, ["judge", "--data", "{tmp}/p.jsonl"], "p.jsonl"),
    "judge invalid JSON line 2": ({"p.jsonl": jsonl(PAIR, "{oops")}, ["judge", "--data", "{tmp}/p.jsonl"], "p.jsonl: line 2"),
    "judge array record": ({"p.jsonl": jsonl(PAIR, "[1, 2]")}, ["judge", "--data", "{tmp}/p.jsonl"], "p.jsonl: line 2"),
    "judge missing chosen": (
        {"p.jsonl": jsonl(PAIR, {"id": "p2", "prompt": "q", "rejected": "r"})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 2",
    ),
    "judge chosen not a string": (
        {"p.jsonl": jsonl({**PAIR, "chosen": 4})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 1",
    ),
    "judge duplicate ids": (
        {"p.jsonl": jsonl(PAIR, {**PAIR, "id": "p2"}, PAIR)},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 3: id 'p1' repeats record 1",
    ),
    "judge empty file": ({"p.jsonl": ""}, ["judge", "--data", "{tmp}/p.jsonl"], "p.jsonl"),
    "judge lone surrogate": (
        {"p.jsonl": '{"id": "s", "prompt": "q\\ud800", "chosen": "a", "rejected": "b"}\n'},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: line 1",
    ),
    "judge out is a folder": ({}, ["judge", "--data", str(QUICKSTART), "--limit", "1", "--out", "{tmp}"], "is a folder"),
    "judge out inside a file": (
        {"f": "x"},
        ["judge", "--data", str(QUICKSTART), "--out", "{tmp}/f/log.jsonl"],
        "{tmp}/f is a file",
    ),  # fmt: skip
    # a field of the wrong type, checked where the record is read (a list id or source once ended in
    # "unexpected error: TypeError: unhashable type: 'list'", naming neither file nor record)
    "judge source a list": (
        {"p.jsonl": jsonl(PAIR, {**PAIR, "id": "p2", "source": ["a"]})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 2: 'source' must be a string",
    ),
    "judge id a list": (
        {"p.jsonl": jsonl({**PAIR, "id": ["p1"]})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 1: 'id' must be a string or an integer",
    ),
    "judge id a bool": (
        {"p.jsonl": jsonl({**PAIR, "id": True})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 1: 'id'",
    ),
    "judge domain a list": (
        {"p.jsonl": jsonl({**PAIR, "domain": ["chat"]})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 1: 'domain' must be a string",
    ),
    "judge verifiable family a list": (
        {"p.jsonl": jsonl({**PAIR, "verifiable": {"solution": "4", "chosen_quote": "4", "rejected_quote": "5", "family": []}})},
        ["judge", "--data", "{tmp}/p.jsonl"],
        "p.jsonl: record 1: verifiable.family",
    ),
    # rmr1 evaluate
    "evaluate chunk-size 0": (
        {},
        ["evaluate", "--benchmark", "pairs", "--data", str(QUICKSTART), "--out", "{tmp}/o", "--chunk-size", "0"],
        "--chunk-size",
    ),  # fmt: skip
    "evaluate limit 0": (
        {},
        ["evaluate", "--benchmark", "pairs", "--data", str(QUICKSTART), "--out", "{tmp}/o", "--limit", "0"],
        "--limit",
    ),  # fmt: skip
    "evaluate max-new-tokens -5": (
        {},
        ["evaluate", "--benchmark", "pairs", "--data", str(QUICKSTART), "--out", "{tmp}/o", "--max-new-tokens", "-5"],
        "--max-new-tokens",
    ),  # fmt: skip
    "evaluate unknown benchmark": (
        {},
        ["evaluate", "--benchmark", "rewardbench3", "--data", str(QUICKSTART), "--out", "{tmp}/o"],
        "--benchmark",
    ),  # fmt: skip
    "evaluate missing file": (
        {},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/rb.jsonl", "--out", "{tmp}/o"],
        "rb.jsonl",
    ),  # fmt: skip
    "evaluate empty file": (
        {"rb.jsonl": ""},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/rb.jsonl", "--out", "{tmp}/o"],
        "rb.jsonl",
    ),  # fmt: skip
    "evaluate rewardbench unknown subset": (
        {"rb.jsonl": jsonl(RB, {**RB, "id": 2, "subset": "alpacaeval-eazy"})},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/rb.jsonl", "--out", "{tmp}/o"],
        "alpacaeval-eazy",
    ),
    "evaluate rewardbench chosen a list": (
        {"rb.jsonl": jsonl(RB, {**RB, "id": 2, "chosen": ["x"]})},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/rb.jsonl", "--out", "{tmp}/o"],
        "rb.jsonl: line 2",
    ),
    "evaluate rmbench chosen a string": (
        {"rm.jsonl": jsonl({**RM3, "chosen": "Jupiter"})},
        ["evaluate", "--benchmark", "rmbench", "--data", "{tmp}/rm.jsonl", "--out", "{tmp}/o"],
        "rm.jsonl: line 1",
    ),
    "evaluate rmbench two rejected": (
        {"rm.jsonl": jsonl(RM3, {**RM3, "id": "r2", "rejected": ["d", "e"]})},
        ["evaluate", "--benchmark", "rmbench", "--data", "{tmp}/rm.jsonl", "--out", "{tmp}/o"],
        "rm.jsonl: line 2",
    ),
    "evaluate rmb message without role": (
        {"rmb.json": json.dumps([{**RMB_PAIR, "conversation_input": [{"content": "q"}]}])},
        ["evaluate", "--benchmark", "rmb-pairwise", "--data", "{tmp}/rmb.json", "--out", "{tmp}/o"],
        "rmb.json: record 1",
    ),
    "evaluate rmb chosen a string": (
        {"rmb.json": json.dumps([RMB_PAIR, {**RMB_PAIR, "pair_uid": "u2", "chosen": "good"}])},
        ["evaluate", "--benchmark", "rmb-pairwise", "--data", "{tmp}/rmb.json", "--out", "{tmp}/o"],
        "rmb.json: record 2",
    ),
    "evaluate bon without losers": (
        {"bon.json": json.dumps([{**RMB_BON, "loser_list": []}])},
        ["evaluate", "--benchmark", "rmb-bon", "--data", "{tmp}/bon.json", "--out", "{tmp}/o"],
        "bon.json: record 1",
    ),
    "evaluate judgebench bad label": (
        {"jb.jsonl": jsonl({**JB, "label": "A=B"})},
        ["evaluate", "--benchmark", "judgebench", "--data", "{tmp}/jb.jsonl", "--out", "{tmp}/o"],
        "jb.jsonl: line 1",
    ),
    "evaluate duplicate rewardbench ids": (
        {"rb.jsonl": jsonl(RB, RB)},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/rb.jsonl", "--out", "{tmp}/o"],
        "rb.jsonl",
    ),
    "evaluate json not a list": (
        {"rmb.json": json.dumps({"a": 1})},
        ["evaluate", "--benchmark", "rmb-pairwise", "--data", "{tmp}/rmb.json", "--out", "{tmp}/o"],
        "rmb.json",
    ),
    # rmr1 score
    "score missing log": ({}, ["score", "--benchmark", "rewardbench", "--log", "{tmp}/log.jsonl"], "log.jsonl"),
    "score empty log": ({"log.jsonl": ""}, ["score", "--benchmark", "rewardbench", "--log", "{tmp}/log.jsonl"], "log.jsonl"),
    "score damaged line": (
        {"log.jsonl": jsonl({"key": "a"}, "{torn", {"key": "b"})},
        ["score", "--benchmark", "rewardbench", "--log", "{tmp}/log.jsonl"],
        "log.jsonl: line 2",
    ),
    "score log of a folder": ({}, ["score", "--benchmark", "pairs", "--log", "{tmp}"], "is a folder"),
    # rmr1 prepare
    "prepare missing recipe file": ({}, ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"], "r.yaml"),
    "prepare unknown recipe name": ({}, ["prepare", "--recipe", "judge-curriculumm", "--out", "{tmp}/o"], "judge-curriculumm"),
    "prepare recipe is a folder": ({}, ["prepare", "--recipe", "{tmp}", "--out", "{tmp}/o"], "is a folder"),
    "prepare YAML syntax": (
        {"r.yaml": "sources: [\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "r.yaml: invalid YAML at line 2",
    ),  # fmt: skip
    "prepare not a mapping": ({"r.yaml": "- a\n- b\n"}, ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"], "r.yaml"),
    "prepare unknown key": ({"r.yaml": "seeed: 1\n"}, ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"], "seeed"),
    "prepare seed abc": ({"r.yaml": "seed: abc\n"}, ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"], "'seed'"),
    "prepare sources not a list": (
        {"r.yaml": "sources: 3\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "'sources'",
    ),  # fmt: skip
    "prepare source unknown key": (
        {"r.yaml": "sources:\n  - name: a\n    generator: curriculum\n    nn: 3\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "source 1",
    ),
    "prepare source n a string": (
        {"r.yaml": "sources:\n  - name: a\n    generator: curriculum\n    n: many\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "'n'",
    ),
    "prepare test-size -1": (
        {},
        ["prepare", "--recipe", "judge-curriculum", "--out", "{tmp}/o", "--test-size", "-1"],
        "--test-size",
    ),  # fmt: skip
    "prepare max-prompt-tokens 0": (
        {},
        ["prepare", "--recipe", "judge-curriculum", "--out", "{tmp}/o", "--max-prompt-tokens", "0"],
        "--max-prompt-tokens",
    ),  # fmt: skip
    "prepare non-UTF-8 recipe": (
        {"r.yaml": b"seed: \xff\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "r.yaml",
    ),  # fmt: skip
    # an empty output is never written silently: a source that gives no task is an error saying why
    "prepare empty source file": (
        {"r.yaml": "tokenizer: null\nsources:\n  - {name: a, path: p.jsonl, format: pairs}\n", "p.jsonl": ""},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "p.jsonl: source 'a' gives no judge task: it has no records",
    ),
    "prepare every prompt over the token budget": (
        {"r.yaml": "max_prompt_tokens: 50\nsources:\n  - {name: a, path: p.jsonl, format: pairs}\n", "p.jsonl": jsonl(PAIR)},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o", "--quiet"],
        "p.jsonl: source 'a' gives no judge task: of its 1 records, 1 prompts over the token budget of 50",
    ),
    "prepare every record bad (skip)": (
        {
            "r.yaml": "on_error: skip\ntokenizer: null\nsources:\n  - {name: a, path: p.jsonl, format: pairs}\n",
            "p.jsonl": jsonl({"id": "x", "prompt": "q"}),
        },
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "p.jsonl: source 'a' gives no judge task: of its 1 records, 1 skipped as bad (first: record 1: missing field",
    ),  # fmt: skip
    "prepare source a folder": (
        {"r.yaml": "tokenizer: null\nsources:\n  - {name: a, path: ., format: pairs}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "is a folder",
    ),
    "prepare source JSON not UTF-8": (
        {"r.yaml": "tokenizer: null\nsources:\n  - {name: a, path: s.json, format: pairs}\n", "s.json": b"\xff[]"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "s.json: not UTF-8 text",
    ),
    "prepare source not parquet": (
        {"r.yaml": "tokenizer: null\nsources:\n  - {name: a, path: s.parquet, format: pairs}\n", "s.parquet": "no"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "s.parquet: not a readable parquet file",
    ),
    "prepare source n -3": (
        {"r.yaml": "sources:\n  - {name: a, generator: curriculum, n: -3}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "source 1: source 'a': n must be >= 1",
    ),
    "prepare max_prompt_tokens 0": (
        {"r.yaml": "max_prompt_tokens: 0\nsources:\n  - {name: a, generator: curriculum, n: 3}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "max_prompt_tokens must be >= 1",
    ),
    "prepare unknown curriculum family": (
        {"r.yaml": "sources:\n  - {name: a, generator: curriculum, n: 3, families: [nope]}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "r.yaml: source 1: source 'a': unknown curriculum families ['nope']",
    ),
    "prepare unknown math family": (
        {"r.yaml": "sources:\n  - {name: a, generator: math, n: 3, families: [nope]}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "unknown math families ['nope']",
    ),
    "prepare unknown part": (
        {"r.yaml": "sources:\n  - {name: a, generator: curriculum, n: 3, part: tset}\n"},
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "unknown part 'tset'",
    ),
    "prepare out is a file": ({"o": "x"}, ["prepare", "--recipe", "judge-curriculum", "--out", "{tmp}/o"], "--out"),
    "prepare pair source a list": (
        {
            "r.yaml": "tokenizer: null\nsources:\n  - {name: a, path: p.jsonl, format: pairs}\n",
            "p.jsonl": jsonl({**PAIR, "source": ["x"]}),
        },
        ["prepare", "--recipe", "{tmp}/r.yaml", "--out", "{tmp}/o"],
        "p.jsonl: record 1: 'source' must be a string",
    ),  # fmt: skip
    # rmr1 distill-data
    "distill-data missing tasks": ({}, ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o"], "t.jsonl"),
    "distill-data chunk-size 0": (
        {},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--chunk-size", "0"],
        "--chunk-size",
    ),  # fmt: skip
    "distill-data max-new-tokens 0": (
        {},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--max-new-tokens", "0"],
        "--max-new-tokens",
    ),  # fmt: skip
    "distill-data top-p 2": ({}, ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--top-p", "2"], "--top-p"),
    "distill-data limit 0": ({}, ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--limit", "0"], "--limit"),
    "distill-data duplicate task ids": (
        {"t.jsonl": jsonl(TASK, TASK)},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "t.jsonl: record 2: id 't1' repeats record 1",
    ),
    "distill-data duplicate task ids across files": (
        {"t1.jsonl": jsonl(TASK), "t2.jsonl": jsonl({**TASK, "id": "t2"}, TASK)},
        ["distill-data", "--tasks", "{tmp}/t1.jsonl", "{tmp}/t2.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "{tmp}/t2.jsonl: record 2: id 't1' repeats {tmp}/t1.jsonl: record 1",
    ),
    "distill-data out is a file": (
        {"t.jsonl": jsonl(TASK), "o": "x"},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "argument --out: {tmp}/o is a file, expected a folder",
    ),
    "distill-data task id a list": (
        {"t.jsonl": jsonl({**TASK, "id": ["t1"]})},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "t.jsonl: record 1: 'id' must be a string or an integer",
    ),
    "distill-data task source a mapping": (
        {"t.jsonl": jsonl({**TASK, "source": {"a": 1}})},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "t.jsonl: record 1: 'source' must be a string",
    ),
    "distill-data task without winner": (
        {"t.jsonl": jsonl({"id": "t", "messages": [{"role": "user", "content": "x"}]})},
        ["distill-data", "--tasks", "{tmp}/t.jsonl", "--out", "{tmp}/o", "--teacher", "rule"],
        "t.jsonl",
    ),
    # rmr1 best-of-n
    "best-of-n n 0": ({}, ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl", "--n", "0"], "--n"),
    "best-of-n max-new-tokens 0": (
        {},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl", "--max-new-tokens", "0"],
        "--max-new-tokens",
    ),  # fmt: skip
    "best-of-n temperature -1": (
        {},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl", "--temperature", "-1"],
        "--temperature",
    ),  # fmt: skip
    "best-of-n empty candidates": (
        {"c.jsonl": jsonl({"prompt": "q", "candidates": ["a"]}, {"prompt": "q", "candidates": []})},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl"],
        "c.jsonl: record 2",
    ),
    "best-of-n no prompt": (
        {"c.jsonl": jsonl({"candidates": ["a", "b"]})},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl"],
        "c.jsonl: record 1",
    ),
    "best-of-n candidates not strings": (
        {"c.jsonl": jsonl({"prompt": "q", "candidates": ["a", 3]})},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl"],
        "c.jsonl: record 1",
    ),
    "best-of-n out is a folder": (
        {"c.jsonl": jsonl({"prompt": "q", "candidates": ["a", "b"]})},
        ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}"],
        "is a folder",
    ),
    "best-of-n empty file": ({"c.jsonl": ""}, ["best-of-n", "--data", "{tmp}/c.jsonl", "--out", "{tmp}/o.jsonl"], "c.jsonl"),
    # rmr1 distill / grpo (TRL's parser, our config checks)
    "distill config syntax": (
        {"d.yaml": "learning_rate: [1\n"},
        ["distill", "--config", "{tmp}/d.yaml"],
        "d.yaml: invalid YAML at line 2",
    ),  # fmt: skip
    "distill config unknown key": (
        {"d.yaml": "learning_rat: 1.0e-5\n"},
        ["distill", "--config", "{tmp}/d.yaml"],
        "learning_rat",
    ),  # fmt: skip
    "distill config seed abc": ({"d.yaml": "seed: abc\n"}, ["distill", "--config", "{tmp}/d.yaml"], "d.yaml: key 'seed'"),
    "distill config missing": ({}, ["distill", "--config", "{tmp}/d.yaml"], "d.yaml"),
    "distill unknown recipe name": ({}, ["distill", "--config", "tiny-cpuu"], "tiny-cpuu"),
    "distill flag lr abc": ({}, ["distill", "--config", "tiny-cpu", "--learning_rate", "abc"], "--learning_rate"),
    "grpo config num_generations abc": (
        {"g.yaml": "num_generations: four\n"},
        ["grpo", "--config", "{tmp}/g.yaml"],
        "'num_generations'",
    ),  # fmt: skip
    "grpo config a list": ({"g.yaml": "- 1\n"}, ["grpo", "--config", "{tmp}/g.yaml"], "g.yaml"),
    "grpo config quote_faithfulness_weight -1": (
        {"g.yaml": "quote_faithfulness_weight: -1\n"},
        ["grpo", "--config", "{tmp}/g.yaml"],
        "g.yaml: key 'quote_faithfulness_weight'",
    ),  # fmt: skip
    "evaluate data not parquet": (
        {"b.parquet": "no"},
        ["evaluate", "--benchmark", "rewardbench", "--data", "{tmp}/b.parquet", "--out", "{tmp}/o"],
        "b.parquet: not a readable parquet file",
    ),  # fmt: skip
    # numeric ranges: TRL refused a negative num_generations without naming the key, a zero one divided by zero
    "grpo config num_generations -2": (
        {"g.yaml": "num_generations: -2\n"},
        ["grpo", "--config", "{tmp}/g.yaml"],
        "g.yaml: key 'num_generations': must be >= 2, got -2",
    ),  # fmt: skip
    "grpo config num_generations 0": (
        {"g.yaml": "num_generations: 0\n"},
        ["grpo", "--config", "{tmp}/g.yaml"],
        "'num_generations'",
    ),
    "grpo config top_p 1.5": ({"g.yaml": "top_p: 1.5\n"}, ["grpo", "--config", "{tmp}/g.yaml"], "g.yaml: key 'top_p'"),
    "grpo config temperature nan": ({"g.yaml": "temperature: .nan\n"}, ["grpo", "--config", "{tmp}/g.yaml"], "'temperature'"),
    "grpo flag num_generations 1": (
        {"g.yaml": "seed: 1\n"},
        ["grpo", "--config", "{tmp}/g.yaml", "--num_generations", "1"],
        "--num_generations",
    ),  # fmt: skip
    "grpo config output_dir a list": ({"g.yaml": "output_dir: [a]\n"}, ["grpo", "--config", "{tmp}/g.yaml"], "'output_dir'"),
    "distill config batch size 0": (
        {"d.yaml": "per_device_train_batch_size: 0\n"},
        ["distill", "--config", "{tmp}/d.yaml"],
        "d.yaml: key 'per_device_train_batch_size'",
    ),  # fmt: skip
    "distill config learning_rate negative": (
        {"d.yaml": "learning_rate: -1.0e-5\n"},
        ["distill", "--config", "{tmp}/d.yaml"],
        "d.yaml: key 'learning_rate'",
    ),  # fmt: skip
    "distill flag max_steps=-3": ({}, ["distill", "--config", "tiny-cpu", "--max_steps=-3"], "--max_steps"),
    # rmr1 prompt
    "prompt missing answer": ({}, ["prompt", "--question", "q", "--answer-a", "a"], "--answer-b"),
    "prompt conversation a folder": (
        {"c.json": "[]"},
        ["prompt", "--conversation-a", "{tmp}", "--conversation-b", "{tmp}/c.json"],
        "is a folder",
    ),  # fmt: skip
    "prompt conversation not UTF-8": (
        {"c.json": b"\xff[]"},
        ["prompt", "--conversation-a", "{tmp}/c.json", "--conversation-b", "{tmp}/c.json"],
        "c.json",
    ),  # fmt: skip
    "prompt message without role": (
        {"c.json": json.dumps([{"content": "hi"}])},
        ["prompt", "--conversation-a", "{tmp}/c.json", "--conversation-b", "{tmp}/c.json"],
        "c.json: message 1",
    ),  # fmt: skip
    # rmr1 pipeline
    "pipeline preset syntax": (
        {"p.yaml": "eval_sets: {a\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "p.yaml: invalid YAML",
    ),  # fmt: skip
    "pipeline preset unknown key": (
        {"p.yaml": PRESET + "eval_max_new_token: 3\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "eval_max_new_token",
    ),
    "pipeline preset type": (
        {"p.yaml": "eval_max_new_tokens: abc\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "'eval_max_new_tokens'",
    ),  # fmt: skip
    "pipeline preset list type": (
        {"p.yaml": "headline_sets: held-out\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "'headline_sets'",
    ),  # fmt: skip
    "pipeline unknown preset": ({}, ["pipeline", "--preset", "cpu-longg", "--out", "{tmp}/o"], "cpu-longg"),
    "pipeline extra_traces entry key": (
        {"p.yaml": "extra_traces:\n  - {path: data/traces/cor_traces.jsonl, domain: [chat]}\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "extra_traces entry 1",
    ),  # fmt: skip
    "pipeline extra_traces max_tokens": (
        {"p.yaml": "extra_traces:\n  - {path: data/traces/cor_traces.jsonl, max_tokens: 0}\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "'max_tokens'",
    ),  # fmt: skip
    "pipeline --set unknown field": ({}, ["pipeline", "--set", "eval_max_new_token=3", "--out", "{tmp}/o"], "--set"),
    "pipeline --set without =": ({}, ["pipeline", "--set", "seed", "--out", "{tmp}/o"], "--set 'seed'"),
    "pipeline --set bad YAML": ({}, ["pipeline", "--set", "distill_overrides.max_steps=[", "--out", "{tmp}/o"], "not valid YAML"),
    "pipeline --set wrong type": ({}, ["pipeline", "--set", "seed=x", "--out", "{tmp}/o"], "'seed'"),
    "pipeline --set unknown stage field": (
        {},
        ["pipeline", "--set", "distill_overrides.max_stepz=3", "--out", "{tmp}/o"],
        "distill_overrides",
    ),  # fmt: skip
    "pipeline out is a file": ({"o": "x"}, ["pipeline", "--out", "{tmp}/o"], "--out"),
    "pipeline grpo_overrides out of range": (
        {"p.yaml": "grpo_overrides: {num_generations: -1}\n"},
        ["pipeline", "--preset", "{tmp}/p.yaml", "--out", "{tmp}/o"],
        "argument --num_generations: must be >= 2",
    ),  # fmt: skip
    "pipeline --seed negative": ({}, ["pipeline", "--seed", "-1", "--out", "{tmp}/o"], "--seed"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_line(name, tmp_path, capsys):
    files, argv, must_name = CASES[name]
    for file, content in files.items():
        path = tmp_path / file
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        code = rmr1_main(argv)
    except SystemExit as e:  # argparse rejects a flag while parsing
        code = e.code
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert code == 2, f"exit code {code}: {err}"
    assert "Traceback" not in err and len(lines) == 1, err
    assert must_name.replace("{tmp}", str(tmp_path)) in lines[0], lines[0]
    assert lines[0].startswith("rmr1") and ": error: " in lines[0], lines[0]


def test_there_are_at_least_sixty_cases_across_every_stage():
    stages = {argv[0] for _, argv, _ in CASES.values()}
    assert len(CASES) >= 60
    assert stages >= {
        "judge",
        "evaluate",
        "score",
        "prepare",
        "distill-data",
        "best-of-n",
        "distill",
        "grpo",
        "pipeline",
        "prompt",
    }


def test_unexpected_errors_are_one_line_with_a_debug_hint(monkeypatch, capsys):
    """The last-resort boundary: a failure nobody foresaw (here: a stage that raises a bare RuntimeError)
    is still one line with a hint, exit code 1; ``--debug`` shows the traceback instead."""
    import rmr1_utils.score

    def broken(args):
        raise RuntimeError("something\nnobody foresaw")

    monkeypatch.setattr(rmr1_utils.score, "main", broken)
    code = rmr1_main(["score", "--benchmark", "pairs", "--log", "x.jsonl"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.splitlines() == [
        "rmr1 score: unexpected error: RuntimeError: something nobody foresaw (rerun as `rmr1 --debug score …` for the traceback)"
    ]
    with pytest.raises(RuntimeError, match="nobody foresaw"):
        rmr1_main(["--debug", "score", "--benchmark", "pairs", "--log", "x.jsonl"])
