"""RESULT F1: does the fabricated-quote penalty change GRPO's judge? Two arms, same start, same seeds.

Both arms start from the same distilled judge (default ``rmr1-judge-135m-distilled``: the distillation
of ``rmr1 pipeline --preset cpu-long``, shipped) and train GRPO on the cpu-long recipe's GRPO split with
its ``grpo_overrides`` and seed; the only difference is ``quote_faithfulness_weight`` (0 = the RM-R1
reward, exact; ``--weight`` for the term). Each final judge is evaluated, both orders, greedy, on the
held-out GRPO families and the held-out families (the cpu-long evaluation settings); the arms are
compared on the same judgements: accuracy (paired bootstrap by pair, :func:`rmr1_utils.compare.compare_logs`)
and the per-judgement faithful-quote share (paired bootstrap by pair, :func:`rmr1_utils.stats.paired_difference`,
on the judgements that quote in both arms).

Resumable: a finished arm (its ``grpo_report.json``) is not retrained, evaluations resume from their logs.

    python bench/faithfulness_term.py --out runs/f1 --weight 1.0          # the recipe: 30 steps an arm, ~1.5 h on 2 cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rmr1_utils import grpo, prepare
from rmr1_utils.compare import compare_logs
from rmr1_utils.evaluate import run_evaluation
from rmr1_utils.faithfulness import check_record, faithfulness_summary
from rmr1_utils.generation import TransformersBackend
from rmr1_utils.models import load_model_and_tokenizer
from rmr1_utils.pipeline_preset import _overrides, _slug, load_preset
from rmr1_utils.pipeline_report import pair_of
from rmr1_utils.runlog import read_log
from rmr1_utils.stats import paired_difference

SETS = ("held-out GRPO families", "held-out families")


def train_arm(out: Path, start: str, preset, weight: float, extra: dict) -> str:
    report = out / "grpo" / "grpo_report.json"
    if not report.exists():
        overrides = {**preset.grpo_overrides, **extra}
        grpo.main([
            "--config", preset.grpo_recipe, "--model_name_or_path", start, "--output_dir", str(out / "grpo"),
            "--dataset_path", str(out.parent / "data"), "--seed", str(preset.seed), *_overrides(overrides),
            "--quote_faithfulness_weight", str(weight), "--disable_tqdm", "true",
        ])  # fmt: skip
    return json.loads(report.read_text())["export_dir"]


def evaluate_arm(out: Path, model: str, preset) -> dict[str, list[dict]]:
    loaded, tokenizer = load_model_and_tokenizer(model)  # as the pipeline judges: transformers, batched
    backend = TransformersBackend(loaded, tokenizer, batch_size=preset.eval_batch_size)
    logs = {}
    for name in SETS:
        path = out.parent / "data" / preset.eval_sets[name].removeprefix("data:")
        folder = out / "eval" / _slug(name)
        run_evaluation("pairs", path, folder, backend=backend, seed=preset.seed, max_new_tokens=preset.eval_max_new_tokens,
                       chunk_size=preset.eval_batch_size, progress=False, both_orders=preset.eval_both_orders)  # fmt: skip
        logs[name] = read_log(folder / "log.jsonl")
    return logs


def faithful_difference(base: list[dict], term: list[dict], resamples: int, seed: int) -> dict:
    """Paired difference (term − base) of the per-judgement faithful-quote share, on judgements that quote in both arms."""
    shares = []
    for log in (base, term):
        checks = {line["key"]: check_record(line) for line in log}
        shares.append({k: c.faithful_share for k, c in checks.items() if c is not None and c.faithful_share is not None})
    clusters = {line["key"]: pair_of(line) for line in base}
    return paired_difference(shares[0], shares[1], clusters, resamples, seed).to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/f1")
    parser.add_argument("--start", default="rmr1-judge-135m-distilled", help="the distilled judge both arms start from")
    parser.add_argument("--weight", type=float, default=1.0, help="quote_faithfulness_weight of the term arm")
    parser.add_argument("--max-steps", type=int, help="GRPO steps (default: the cpu-long recipe's)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE", help="another GRPO override (tests)")
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    preset, _ = load_preset("cpu-long")
    out = Path(args.out)
    if not (out / "data" / "train.jsonl").exists():
        prepare.main(["--recipe", preset.data_recipe, "--out", str(out / "data"), "--seed", str(preset.seed), "--quiet"])
    logs = {}
    for arm, weight in (("base", 0.0), ("term", args.weight)):
        extra = dict(item.split("=", 1) for item in args.override)
        if args.max_steps is not None:
            extra["max_steps"] = args.max_steps
        model = train_arm(out / arm, args.start, preset, weight, extra)
        logs[arm] = evaluate_arm(out / arm, model, preset)
    result = {"start": args.start, "weight": args.weight, "max_steps": args.max_steps or preset.grpo_overrides["max_steps"],
              "seed": preset.seed, "sets": {}}  # fmt: skip
    for name in SETS:
        base, term = logs["base"][name], logs["term"][name]
        faithful = {arm: faithfulness_summary(logs[arm][name], pair_of, args.resamples, preset.seed) for arm in logs}
        result["sets"][name] = {
            "accuracy": compare_logs(base, term, names=("base", "term"), resamples=args.resamples, seed=preset.seed),
            "faithfulness": faithful,
            "faithful_share_difference": faithful_difference(base, term, args.resamples, preset.seed),
        }
    (out / "f1.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    for name, r in result["sets"].items():
        acc, fb, ft = r["accuracy"], r["faithfulness"]["base"], r["faithfulness"]["term"]
        d, fd = acc["difference"], r["faithful_share_difference"]
        print(f"{name}: accuracy base {acc['accuracy_a']['value']:.3f} term {acc['accuracy_b']['value']:.3f}, "
              f"difference {d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}] (n={d['n']}, {d['clusters']} pairs); "
              f"faithful quotes base {fb['faithful_share']:.3f} ({fb['faithful_quotes']}/{fb['quotes']}) term "
              f"{ft['faithful_share']:.3f} ({ft['faithful_quotes']}/{ft['quotes']}), per-judgement difference "
              f"{fd['value']:+.3f} [{fd['low']:+.3f}, {fd['high']:+.3f}] (n={fd['n']})")  # fmt: skip
    head = result["sets"][SETS[0]]
    print(
        f"RESULT F1 faithful_base={head['faithfulness']['base']['faithful_share']:.3f} "
        f"faithful_term={head['faithfulness']['term']['faithful_share']:.3f} "
        f"acc_base={head['accuracy']['accuracy_a']['value']:.3f} acc_term={head['accuracy']['accuracy_b']['value']:.3f} "
        f"diff_ci_low={head['accuracy']['difference']['low']:.3f}"
    )


if __name__ == "__main__":
    main()
