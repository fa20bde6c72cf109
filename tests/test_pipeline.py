"""``rmr1 pipeline``: presets, the end-to-end run on the smoke preset, resume, the report."""

from __future__ import annotations

import json

import pytest

from rmr1_utils.data import read_jsonl
from rmr1_utils.errors import RMR1Error
from rmr1_utils.pipeline import main, parse_stage_configs, select_traces
from rmr1_utils.pipeline_preset import DATA_PREFIX, PipelinePreset, Run, load_preset, trace_selection
from rmr1_utils.pipeline_report import bias_readout, format_report, paired_rows, report_rows
from rmr1_utils.runlog import read_log
from rmr1_utils.training import RECIPES_ROOT

from .conftest import DATA_DIR, run_rmr1

PRESETS = sorted((RECIPES_ROOT / "pipeline").glob("*.yaml"))
STAGES = ("data", "eval-base", "traces", "distill", "eval-distill", "grpo", "eval-final")


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_loads_and_its_stage_configs_parse_once(path, tmp_path):
    preset, _ = load_preset(str(path))
    configs, argvs = parse_stage_configs(preset, tmp_path / "run", quiet=True)
    (distill_script, distill_args, distill_model), (grpo_script, grpo_args, grpo_model) = configs["distill"], configs["grpo"]
    for overrides, parsed in ((preset.distill_overrides, configs["distill"]), (preset.grpo_overrides, configs["grpo"])):
        for key, value in overrides.items():
            owner = next(c for c in parsed if hasattr(c, key))
            assert getattr(owner, key) == value, key
    # what the run fixes: the folders, the data, the seed, the starting models (GRPO: the distilled one)
    assert distill_model.model_name_or_path == preset.model and distill_args.output_dir == str(tmp_path / "run" / "distill")
    assert distill_script.dataset_path == str(tmp_path / "run" / "traces") and grpo_script.dataset_path == str(
        tmp_path / "run" / "data"
    )
    assert grpo_model.model_name_or_path == (distill_script.export_dir or str(tmp_path / "run" / "distill" / "final"))
    assert distill_args.seed == grpo_args.seed == preset.seed and distill_args.disable_tqdm and grpo_args.disable_tqdm
    assert argvs["distill"][:2] == ["--config", preset.distill_recipe] and argvs["grpo"][:2] == ["--config", preset.grpo_recipe]
    for path in preset.eval_sets.values():
        assert path.startswith(DATA_PREFIX) or (DATA_DIR.parent / path).exists(), path
    for selection in preset.extra_traces:
        assert (DATA_DIR.parent / selection["path"]).exists(), selection


def test_the_cpu_preset_is_the_main_job():
    preset, _ = load_preset("cpu")
    assert preset.model == "embedded" and preset.eval_both_orders and preset.eval_after_distill
    assert preset.teacher == "rule" and preset.data_recipe == "judge-curriculum"
    assert preset.headline_sets == ["held-out", "held-out families"]
    assert preset.eval_sets["quickstart pairs"] == "data/quickstart_pairs.jsonl"
    assert preset.distill_overrides["both_orders_in_batch"] and preset.grpo_overrides["both_orders_in_batch"]


def test_unknown_preset_key_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: tiny-random\nevaL_data: x.jsonl\n")
    with pytest.raises(RMR1Error, match="evaL_data"):
        load_preset(str(bad))
    bad.write_text("eval_sets: {a: x.jsonl}\nheadline_sets: [b]\n")
    with pytest.raises(RMR1Error, match="unknown evaluation sets \\['b'\\]"):
        load_preset(str(bad))
    with pytest.raises(RMR1Error, match="bundled pipeline recipes: cpu"):
        load_preset("no-such-preset")


def test_extra_traces_select_domains_and_length_with_the_real_tokenizer(tmp_path):
    from rmr1_utils.data import load_judge_tasks, read_jsonl
    from rmr1_utils.models import load_tokenizer

    tokenizer = load_tokenizer("embedded")
    source = DATA_DIR / "traces" / "cor_traces.jsonl"
    tasks = load_judge_tasks(source)
    length = {}
    for t in tasks:
        messages = [*t["messages"], {"role": "assistant", "content": t["trace"]}]
        length[t["id"]] = len(tokenizer.apply_chat_template(messages, return_dict=False))
    chat = [t["id"] for t in tasks if t["domain"] in ("chat", "safety")]
    limit = sorted(length[i] for i in chat)[4]  # the five shortest chat/safety traces
    selection = trace_selection({"path": str(source), "domains": ["chat", "safety"], "max_tokens": limit})
    chosen = select_traces(selection, tokenizer, tmp_path / "sel.jsonl")
    expected = sorted(i for i in chat if length[i] <= limit)
    assert chosen["ids"] == expected and chosen["selected"] == len(expected) >= 5 and chosen["of"] == len(tasks)
    written = read_jsonl(tmp_path / "sel.jsonl")
    originals = {r["id"]: r for r in read_jsonl(source)}
    assert [r["id"] for r in written] == [i for i in originals if i in set(expected)]
    assert all(r == originals[r["id"]] for r in written)  # records copied unchanged
    assert trace_selection(str(source)) == {"path": str(source), "domains": None, "max_tokens": None}
    everything = select_traces(trace_selection(str(source)), tokenizer, tmp_path / "all.jsonl")
    assert everything["selected"] == len(tasks)
    with pytest.raises(RMR1Error, match="selects no trace"):
        too_short = trace_selection({"path": str(source), "domains": ["chat"], "max_tokens": 10})
        select_traces(too_short, tokenizer, tmp_path / "x.jsonl")


def test_cpu_preset_keeps_the_hand_written_chat_traces():
    preset, _ = load_preset("cpu")
    (selection,) = preset.extra_traces
    assert selection["path"] == "data/traces/cor_traces.jsonl" and set(selection["domains"]) == {"chat", "safety"}
    # every selected example fits distillation's max_length: none is dropped
    assert selection["max_tokens"] <= preset.distill_overrides["max_length"]


def test_set_and_seed_override_the_preset():
    settings = ["distill_overrides.side_token_weight=1", "eval_max_new_tokens=64", "headline_sets=[held-out]"]
    preset, _ = load_preset("cpu", settings)
    assert preset.distill_overrides["side_token_weight"] == 1 and preset.distill_overrides["max_steps"] == 69
    assert preset.eval_max_new_tokens == 64 and preset.headline_sets == ["held-out"]
    unpaired, _ = load_preset("cpu", ["distill_overrides.both_orders_in_batch=false"])
    assert unpaired.distill_overrides["both_orders_in_batch"] is False


def _write_log(path, outcomes):
    """A both-orders evaluation log: ``outcomes`` = [(correct order 0, correct order 1), ...] per pair."""
    path.mkdir(parents=True, exist_ok=True)
    lines = []
    for k, pair in enumerate(outcomes):
        for order, correct in enumerate(pair):
            better = "A" if order == 0 else "B"
            verdict = better if correct else ("B" if better == "A" else "A")
            lines.append({"key": f"pair-p{k}" + ("-swapped" if order else ""), "id": f"p{k}", "order": order,
                          "better_position": better, "verdict": verdict, "correct": correct, "format_complete": True,
                          "length_diff": 5 if k % 2 else -5, "subset": "s", "domain": "chat"})  # fmt: skip
    (path / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_report_rows_intervals_paired_differences_and_bias(tmp_path):
    preset = PipelinePreset(eval_sets={"held-out": "x.jsonl", "extra": "y.jsonl"}, headline_sets=["held-out"],
                            bootstrap_resamples=300)  # fmt: skip
    run = Run(preset, tmp_path, quiet=True, results={"eval-base": {}, "eval-final": {}})
    _write_log(tmp_path / "eval-base" / "held-out", [(True, False)] * 8)  # always "A": one order right per pair
    _write_log(tmp_path / "eval-final" / "held-out", [(True, True)] * 6 + [(False, False)] * 2)
    for stage in ("eval-base", "eval-final"):
        _write_log(tmp_path / stage / "extra", [(True, True)])
    rows = {r["metric"]: r for r in report_rows(run)}
    assert rows["accuracy"]["base"]["value"] == 0.5 and rows["accuracy"]["base"]["low"] == 0.5  # clustered by pair
    assert (
        rows["accuracy"]["final"]["value"] == 0.75 and rows["accuracy"]["final"]["low"] < 0.75 < rows["accuracy"]["final"]["high"]
    )
    assert rows["position consistency"] == {"metric": "position consistency", "base": 0.0, "final": 1.0}
    assert rows["verdict rate"]["base"] == 1.0 and rows["accuracy on decided"]["final"] == 0.75
    assert rows["verdicts naming A"]["base"] == 1.0 and rows["verdicts naming A"]["final"] == 0.5
    assert rows["judgements"]["final"] == 16 and rows["accuracy: extra"]["final"]["value"] == 1.0
    (paired,) = [p for p in paired_rows(run) if p["comparison"] == "base → final" and p["set"] == "headline"]
    assert {(p["set"], p["comparison"]) for p in paired_rows(run)} >= {("extra", "base → final")}
    assert paired["value"] == 0.25 and paired["clusters"] == 8 and paired["n"] == 16
    bias = bias_readout(read_log(tmp_path / "eval-base" / "held-out" / "log.jsonl"))
    assert (
        bias["verdicts_naming_A"] == 1.0 and bias["accuracy_when_A_is_better"] == 1.0 and bias["accuracy_when_B_is_better"] == 0.0
    )
    table = format_report(report_rows(run), ["base", "final"])
    assert table.splitlines()[0] == "| metric | base | final |"
    assert "| accuracy | 0.500 [0.50, 0.50] | 0.750 [" in table and "| judgements | 16 | 16 |" in table


def test_report_rows_show_faithful_quotes_by_pair(tmp_path):
    """A log that records the shown responses gets a faithful-quote share with its interval (resampling pairs)."""
    from rmr1_utils.faithfulness import faithfulness_summary
    from rmr1_utils.pipeline_report import pair_of

    preset = PipelinePreset(eval_sets={"held-out": "x.jsonl"}, headline_sets=["held-out"], bootstrap_resamples=300)
    run = Run(preset, tmp_path, quiet=True, results={"eval-final": {}})
    _write_log(tmp_path / "eval-final" / "held-out", [(True, True)] * 4)
    path = tmp_path / "eval-final" / "held-out" / "log.jsonl"
    lines = read_log(path)
    for k, line in enumerate(lines):  # pairs 0 and 1 quote faithfully, pairs 2 and 3 quote A's words as B's
        quote_b = "right" if k < 4 else "wrong"
        completion = f"<eval><quote_A>wrong</quote_A><quote_B>{quote_b}</quote_B></eval><answer>[[B]]</answer>"
        line.update(response_a="wrong answer", response_b="right answer", completion=completion)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    rows = {r["metric"]: r for r in report_rows(run)}
    share = rows["faithful quotes"]["final"]
    assert share == faithfulness_summary(lines, pair_of, 300, preset.seed)["faithful_share_ci"]
    assert share["value"] == 0.75 and share["n"] == 16 and share["clusters"] == 4 and share["unit"] == "quotes"
    assert rows["judgements with a fabricated quote"]["final"]["value"] == 0.5
    assert rows["faithful quotes: held-out"]["final"] == share
    assert "| faithful quotes | 0.750 [" in format_report(report_rows(run), ["final"])


def test_smoke_pipeline_end_to_end_and_resume(tmp_path):
    out = tmp_path / "run"
    report = main(["--preset", "smoke", "--out", str(out), "--quiet"])
    assert report["columns"] == ["base", "distilled", "final"]
    metrics = [r["metric"] for r in report["rows"]]
    assert metrics == ["format compliance", "accuracy", "verdict rate", "accuracy on decided", "position consistency",
                       "verdicts naming A", "judgements", "faithful quotes", "judgements with a fabricated quote",
                       "accuracy: held-out", "accuracy: quickstart pairs", "faithful quotes: held-out",
                       "faithful quotes: quickstart pairs"]  # fmt: skip
    for name in STAGES:
        assert (out / name / "stage.json").exists(), name
    assert (out / "distill" / "final" / "config.json").exists() and (out / "grpo" / "final" / "config.json").exists()
    traces = json.loads((out / "traces" / "summary.json").read_text())
    assert traces["kept"] == traces["tasks"] == 193  # every train trace of the rule teacher, + 1 hand-written
    (hand_written,) = json.loads((out / "traces" / "stage.json").read_text())["hand_written"]
    assert hand_written["selected"] == 1 and hand_written["of"] == 72
    assert sum(r["id"] in hand_written["ids"] for r in read_jsonl(out / "traces" / "train.jsonl")) == 1
    # GRPO started from the distilled model and trained on the prepared tasks.
    assert json.loads((out / "grpo" / "grpo_report.json").read_text())["train_tasks"] == 2
    final_log = read_log(out / "eval-final" / "held-out" / "log.jsonl")
    assert len(final_log) == 48 and {r["order"] for r in final_log} == {0, 1}  # 24 pairs, both orders
    for name in ("before_after.png", "distill_curve.png", "grpo_curves.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    markdown = (out / "report.md").read_text()
    assert "| accuracy |" in markdown and "base → final" in markdown and "bias readout" in markdown
    assert json.dumps(json.loads((out / "report.json").read_text())["rows"]) == json.dumps(report["rows"])
    for stage, column in (("distill", "distilled"), ("grpo", "final")):  # the exports' cards carry the held-out metrics
        card = (out / stage / "final" / "README.md").read_text()
        assert f"being the **{column}** column" in card
        assert "## Held-out evaluation" in card and "| accuracy | " in card and "preset `smoke`" in card
        assert f"rmr1 {stage} --config tiny-cpu --model_name_or_path" in card  # the stage's own command

    # Resume: finished stages are skipped; a removed marker reruns only that stage.
    before = {name: (out / name / "stage.json").stat().st_mtime_ns for name in STAGES}
    (out / "eval-final" / "stage.json").unlink()
    again = main(["--preset", "smoke", "--out", str(out), "--quiet"])
    after = {name: (out / name / "stage.json").stat().st_mtime_ns for name in STAGES}
    assert [n for n in STAGES if before[n] != after[n]] == ["eval-final"]
    assert json.dumps(again["rows"]) == json.dumps(report["rows"])  # NaN-safe equality


def test_cli(tmp_path):
    proc = run_rmr1("pipeline", "--preset", "smoke", "--out", str(tmp_path / "run"), "--quiet", "--seed", "7",
                    "--set", "eval_max_new_tokens=4")  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    identity = json.loads((tmp_path / "run" / "run.json").read_text())
    assert identity["seed"] == 7 and identity["eval_max_new_tokens"] == 4
    assert "| metric | base | distilled | final |" in proc.stdout and "run folder:" in proc.stdout
    proc = run_rmr1("pipeline", "--preset", "nope")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("rmr1 pipeline: error:")


@pytest.mark.slow  # ~65 s: a pipeline run through its ship stage
def test_ship_stage_and_run_identity(tmp_path, monkeypatch):
    """A finished run ships its judges (compressed, measured, loadable by name); a run folder made
    with other settings is refused instead of mixed."""
    import dataclasses

    import rmr1_utils.compact as compact
    from rmr1_utils.models import load_model_and_tokenizer
    from rmr1_utils.pipeline import run_pipeline

    monkeypatch.setattr(compact, "JUDGES_DIR", tmp_path / "judges")
    monkeypatch.setenv("RMR1_CACHE", str(tmp_path / "cache"))
    preset, _ = load_preset("smoke")
    out = tmp_path / "run"
    run_pipeline(preset, out, quiet=True, name="smoke")
    shipping = dataclasses.replace(preset, ship_as="smoke-judge", ship_distilled=True, ship_rank=4)
    report = run_pipeline(shipping, out, quiet=True, name="smoke")  # resumes: only the ship stage runs
    assert set(report["shipped"]) == {"smoke-judge", "smoke-judge-distilled"}
    card = json.loads((tmp_path / "judges" / "smoke-judge" / "judge.json").read_text())
    assert card["command"] == "rmr1 pipeline --preset smoke" and card["stage"] == "grpo"
    assert card["held_out"]["accuracy"]["n"] == len(card["held_out"]["outcomes"]) == 48
    assert "Shipped smoke-judge" in (out / "report.md").read_text()
    model, _ = load_model_and_tokenizer("smoke-judge")
    assert model.config.num_hidden_layers == 2
    with pytest.raises(RMR1Error, match="distill_overrides differ"):
        changed = dataclasses.replace(preset, distill_overrides={**preset.distill_overrides, "max_steps": 2})
        run_pipeline(changed, out, quiet=True)
