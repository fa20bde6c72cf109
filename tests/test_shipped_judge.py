"""The judge the cpu-long run shipped (``rmr1_utils/judges/rmr1-judge-135m``): it loads by name and
still judges as its card records.

The card holds the held-out outcome of every judgement the compressed judge made when it was shipped.
This test rebuilds the same held-out pairs from the card's data recipe (offline, seconds), judges a
seeded sample of them in both orders with the judge loaded by name, and checks that the verdicts
agree with the recorded ones and that the accuracy lands inside the recorded interval.
"""

from __future__ import annotations

import json
import random

import pytest

from rmr1_utils.compact import JUDGES_DIR, shipped_judges
from rmr1_utils.evaluate import read_log, run_evaluation
from rmr1_utils.models import load_model_and_tokenizer
from rmr1_utils.pipeline_preset import PipelinePreset, Run

JUDGE = "rmr1-judge-135m"
SAMPLE_PAIRS = 20


def test_the_shipped_judge_is_committed_and_small():
    assert JUDGE in shipped_judges()
    size = sum(p.stat().st_size for p in (JUDGES_DIR / JUDGE).iterdir())
    assert size <= 20 * 2**20, f"{size / 2**20:.1f} MB"
    card = json.loads((JUDGES_DIR / JUDGE / "judge.json").read_text())
    assert card["command"] == "rmr1 pipeline --preset cpu-long" and card["base_model"] == "embedded"
    assert card["held_out"]["accuracy"]["n"] == len(card["held_out"]["outcomes"]) >= 64


@pytest.mark.slow  # ~2.5 min: the shipped judge re-judges its held-out set with the embedded model
def test_the_shipped_judge_reproduces_its_recorded_outcomes(tmp_path):
    card = json.loads((JUDGES_DIR / JUDGE / "judge.json").read_text())
    held_out = card["held_out"]
    preset = PipelinePreset(**card["preset"])
    run = Run(preset, tmp_path / "run", quiet=True)
    from rmr1_utils import prepare

    prepare.main(["--recipe", preset.data_recipe, "--out", str(tmp_path / "run" / "data"), "--seed", str(preset.seed), "--quiet"])
    model, tokenizer = load_model_and_tokenizer(JUDGE)  # by name: merged once into the model cache
    measured = {}
    for name in held_out["sets"]:
        pairs = [json.loads(line) for line in open(run.eval_path(name), encoding="utf-8")]
        chosen = random.Random(0).sample(pairs, min(SAMPLE_PAIRS // len(held_out["sets"]), len(pairs)))
        subset = tmp_path / f"{name}.jsonl"
        subset.write_text("".join(json.dumps(p) + "\n" for p in chosen), encoding="utf-8")
        run_evaluation(
            "pairs", subset, tmp_path / name, backend="transformers", model=(model, tokenizer), seed=preset.seed,
            max_new_tokens=held_out["max_new_tokens"], chunk_size=preset.eval_batch_size, progress=False, both_orders=True,
        )  # fmt: skip
        measured.update({r["key"]: bool(r["correct"]) for r in read_log(tmp_path / name / "log.jsonl")})
    recorded = held_out["outcomes"]
    assert set(measured) <= set(recorded) and len(measured) >= 32
    agreement = sum(measured[k] == recorded[k] for k in measured) / len(measured)
    assert agreement >= 0.9, f"only {agreement:.2f} of the verdicts match the recorded run"
    accuracy = sum(measured.values()) / len(measured)
    recorded_accuracy = sum(recorded[k] for k in measured) / len(measured)
    assert abs(accuracy - recorded_accuracy) <= 0.1
    assert held_out["accuracy"]["low"] - 0.15 <= accuracy <= held_out["accuracy"]["high"] + 0.15
