"""``rmr1 pipeline``: presets, the end-to-end run on the smoke preset, resume, the report."""

from __future__ import annotations

import json

import pytest

from rmr1_utils import distill, grpo
from rmr1_utils.errors import RMR1Error
from rmr1_utils.pipeline import _overrides, format_report, load_preset, main, report_rows
from rmr1_utils.training import RECIPES_ROOT

from .conftest import DATA_DIR, run_rmr1

PRESETS = sorted((RECIPES_ROOT / "pipeline").glob("*.yaml"))
STAGES = ("data", "eval-base", "distill", "eval-distill", "grpo", "eval-final")


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_every_preset_loads_and_its_stage_overrides_parse(path):
    preset, _ = load_preset(str(path))
    _, distill_args, _ = distill.parse_args(["--config", preset.distill_recipe, *_overrides(preset.distill_overrides)])
    _, grpo_args, _ = grpo.parse_args(["--config", preset.grpo_recipe, *_overrides(preset.grpo_overrides)])
    for key, value in preset.distill_overrides.items():
        holder = distill_args if hasattr(distill_args, key) else None
        if holder is not None:
            assert getattr(holder, key) == value, key
    assert grpo_args.max_steps == preset.grpo_overrides.get("max_steps", grpo_args.max_steps)
    assert (DATA_DIR.parent / preset.eval_data).exists()


def test_the_cpu_preset_is_the_main_job():
    preset, _ = load_preset("cpu")
    assert preset.model == "embedded" and preset.eval_both_orders and preset.eval_after_distill


def test_unknown_preset_key_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: tiny-random\nevaL_data: x.jsonl\n")
    with pytest.raises(RMR1Error, match="evaL_data"):
        load_preset(str(bad))
    with pytest.raises(RMR1Error, match="bundled pipeline recipes: cpu"):
        load_preset("no-such-preset")


def test_report_rows_and_table():
    def summary(acc, fmt):
        quality = {"format_compliance": fmt, "verdict_rate": 1.0, "verdict_a_rate": 0.5, "position_consistency": 0.25}
        return {"score": acc, "domains": {"chat": acc, "math": 1 - acc}, "quality": quality}

    rows = report_rows({"base": summary(0.25, 0.0), "final": summary(0.75, 0.5)})
    by = {r["metric"]: r for r in rows}
    assert by["accuracy"] == {"metric": "accuracy", "base": 0.25, "final": 0.75}
    assert by["accuracy: math"]["base"] == 0.75 and by["format compliance"]["final"] == 0.5
    assert "position consistency" in by
    table = format_report(rows, ["base", "final"])
    assert table.splitlines()[0] == "| metric | base | final |" and "| accuracy | 0.250 | 0.750 |" in table


def test_smoke_pipeline_end_to_end_and_resume(tmp_path):
    out = tmp_path / "run"
    report = main(["--preset", "smoke", "--out", str(out), "--quiet"])
    assert report["columns"] == ["base", "distilled", "final"]
    metrics = {r["metric"] for r in report["rows"]}
    assert {"format compliance", "accuracy", "position consistency", "verdict rate"} <= metrics
    assert {m for m in metrics if m.startswith("accuracy: ")} == {
        "accuracy: chat",
        "accuracy: code",
        "accuracy: math",
        "accuracy: safety",
    }
    for name in STAGES:
        assert (out / name / "stage.json").exists(), name
    assert (out / "distill" / "final" / "config.json").exists() and (out / "grpo" / "final" / "config.json").exists()
    # GRPO started from the distilled model and trained on the prepared tasks.
    grpo_report = json.loads((out / "grpo" / "grpo_report.json").read_text())
    assert grpo_report["train_tasks"] == 2
    final_log = [json.loads(line) for line in (out / "eval-final" / "log.jsonl").read_text().splitlines()]
    assert len(final_log) == 16 and {r["order"] for r in final_log} == {0, 1}  # 8 pairs, both orders
    for name in ("before_after.png", "distill_curve.png", "grpo_curves.png"):
        assert (out / "plots" / name).stat().st_size > 1000
    assert "| accuracy |" in (out / "report.md").read_text()
    assert json.dumps(json.loads((out / "report.json").read_text())["rows"]) == json.dumps(report["rows"])

    # Resume: finished stages are skipped; a removed marker reruns only that stage.
    before = {name: (out / name / "stage.json").stat().st_mtime_ns for name in STAGES}
    (out / "eval-final" / "stage.json").unlink()
    again = main(["--preset", "smoke", "--out", str(out), "--quiet"])
    after = {name: (out / name / "stage.json").stat().st_mtime_ns for name in STAGES}
    assert [n for n in STAGES if before[n] != after[n]] == ["eval-final"]
    assert json.dumps(again["rows"]) == json.dumps(report["rows"])  # NaN-safe equality


def test_cli(tmp_path):
    proc = run_rmr1("pipeline", "--preset", "smoke", "--out", str(tmp_path / "run"), "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| metric | base | distilled | final |" in proc.stdout and "run folder:" in proc.stdout
    proc = run_rmr1("pipeline", "--preset", "nope")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].startswith("rmr1 pipeline: error:")
