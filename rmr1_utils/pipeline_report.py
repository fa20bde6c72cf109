"""The pipeline's report: headline metrics with intervals, per-set accuracies, paired differences, bias readout, plots.

Everything here is computed from the run folder alone (each evaluation's per-sample log and each
stage's ``stage.json``), so a finished or interrupted run can be reported again without judging.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from rmr1_utils.benchmark_files import SWAPPED_SUFFIX
from rmr1_utils.faithfulness import faithfulness_summary
from rmr1_utils.pipeline_preset import PipelinePreset, Run, _slug
from rmr1_utils.plots import plot_held_out_curve, plot_intervals, plot_training_curves
from rmr1_utils.runlog import read_log
from rmr1_utils.scoring import judge_quality
from rmr1_utils.stats import bootstrap_mean, mcnemar_exact, paired_difference
from rmr1_utils.training import summarize_log

#: Evaluation stages and the report column each fills.
EVAL_COLUMNS = {"eval-base": "base", "eval-distill": "distilled", "eval-final": "final"}


def pair_of(record: dict) -> str:
    """The pair a judgement belongs to (both orders of a pair are one cluster)."""
    return str(record["key"]).removesuffix(SWAPPED_SUFFIX)


def accuracy_interval(log: Sequence[dict], preset: PipelinePreset):
    """Accuracy of a log with its seeded bootstrap interval, clustered by pair."""
    return bootstrap_mean([float(r["correct"]) for r in log], [pair_of(r) for r in log], preset.bootstrap_resamples, preset.seed)


def held_out_curve(run: Run) -> list[dict]:
    """GRPO's held-out curve: step 0 is the distilled judge (its evaluation of the same set), then
    the points :func:`~rmr1_utils.pipeline.held_out_evaluation` measured during training."""
    points = run.results.get("grpo", {}).get("held_out_curve") or []
    name = run.preset.grpo_eval_set or run.preset.headline_sets[0]
    log = read_log(run.dir / "eval-distill" / _slug(name) / "log.jsonl") if "eval-distill" in run.results else []
    if not points or not log:
        return points
    quality = judge_quality(log)
    start = {"step": 0, "accuracy": accuracy_interval(log, run.preset).to_dict(), "reward": None,
             "format_compliance": quality["format_compliance"]}  # fmt: skip
    return [start, *points]


def _logs(run: Run, stage: str, sets: Sequence[str]) -> list[dict]:
    return [r for name in sets for r in read_log(run.dir / stage / _slug(name) / "log.jsonl")]


def report_rows(run: Run) -> list[dict]:
    """The report table: one row per metric, one column per evaluated model.

    Rows: the headline metrics on the pooled headline sets (format compliance, accuracy with its
    interval, verdict rate, accuracy on the judgements with a verdict, position consistency,
    verdicts naming A, judgements, the share of quotes found in the response they name and of
    judgements with a fabricated quote, :mod:`rmr1_utils.faithfulness`), then each set's accuracy
    and faithful-quote share with its interval. Interval cells are
    ``{"value", "low", "high", ...}`` dicts.
    """
    preset = run.preset
    stages = [s for s in EVAL_COLUMNS if s in run.results]
    logs = {EVAL_COLUMNS[s]: _logs(run, s, preset.headline_sets) for s in stages}
    rows = []

    def add(metric, get):
        rows.append({"metric": metric, **{column: get(log) for column, log in logs.items()}})

    add("format compliance", lambda log: float(judge_quality(log)["format_compliance"]))
    add("accuracy", lambda log: accuracy_interval(log, preset).to_dict())
    add("verdict rate", lambda log: float(judge_quality(log)["verdict_rate"]))
    add("accuracy on decided", lambda log: float(judge_quality(log)["decided_accuracy"]))
    add("position consistency", lambda log: float(judge_quality(log).get("position_consistency", float("nan"))))
    add("verdicts naming A", lambda log: float(judge_quality(log)["verdict_a_rate"]))
    add("judgements", lambda log: len(log))
    add("faithful quotes", lambda log: faithfulness_cell(log, preset, "faithful_share_ci"))
    add("judgements with a fabricated quote", lambda log: faithfulness_cell(log, preset, "fabricated_rate"))
    for name in preset.eval_sets:
        set_logs = {EVAL_COLUMNS[s]: _logs(run, s, [name]) for s in stages}
        rows.append({"metric": f"accuracy: {name}", **{c: accuracy_interval(g, preset).to_dict() for c, g in set_logs.items()}})
    for name in preset.eval_sets:
        set_logs = {EVAL_COLUMNS[s]: _logs(run, s, [name]) for s in stages}
        rows.append(
            {
                "metric": f"faithful quotes: {name}",
                **{c: faithfulness_cell(g, preset, "faithful_share_ci") for c, g in set_logs.items()},
            }
        )
    return rows


def faithfulness_cell(log: Sequence[dict], preset: PipelinePreset, key: str) -> dict:
    """One rate of :func:`~rmr1_utils.faithfulness.faithfulness_summary` (bootstrap by pair) as a table cell;
    NaN when the log does not record the responses or nothing was measured."""
    summary = faithfulness_summary(log, pair_of, preset.bootstrap_resamples, preset.seed)
    nan = float("nan")
    return summary[key] if summary and summary[key]["n"] else {"value": nan, "low": nan, "high": nan, "n": 0, "clusters": 0}


def paired_rows(run: Run) -> list[dict]:
    """Paired differences of accuracy between the models, on the same judgements.

    On the pooled headline sets: each model against the one before it and base → final. On each
    evaluation set on its own: each trained model against the one before it (where GRPO's gain on
    the families only it trained on shows). Each row: ``set``, ``comparison`` and the
    :func:`~rmr1_utils.stats.paired_difference` fields (bootstrap clustered by pair).
    """
    preset = run.preset
    stages = [s for s in EVAL_COLUMNS if s in run.results]
    columns = [EVAL_COLUMNS[s] for s in stages]

    def rows(scope: str, sets: list[str], pairs: list[tuple[str, str]]) -> list[dict]:
        correct = {EVAL_COLUMNS[s]: {r["key"]: float(r["correct"]) for r in _logs(run, s, sets)} for s in stages}
        clusters = {k: k.removesuffix(SWAPPED_SUFFIX) for log in correct.values() for k in log}
        return [
            {
                "set": scope,
                "comparison": f"{a} → {b}",
                **paired_difference(correct[a], correct[b], clusters, preset.bootstrap_resamples, preset.seed).to_dict(),
                "mcnemar_p": mcnemar_exact(correct[a], correct[b]),
            }
            for a, b in pairs
        ]

    steps = list(zip(columns, columns[1:]))
    result = rows("headline", preset.headline_sets, steps + ([(columns[0], columns[-1])] if len(columns) > 2 else []))
    for name in preset.eval_sets:
        result += rows(name, [name], steps[1:] if len(steps) > 1 else steps)
    return result


def bias_readout(log: Sequence[dict]) -> dict:
    """Position and length bias of a judge from its both-orders log.

    Returns:
        ``verdicts_naming_A`` (0.5 = no position preference), ``position_consistency``,
        ``accuracy_when_A_is_better`` / ``…_B_is_better`` and ``accuracy_when_better_is_longer`` /
        ``…_shorter`` (a length-biased judge is more accurate when the better answer is longer).
    """

    def acc(rows):
        return sum(r["correct"] for r in rows) / len(rows) if rows else float("nan")

    quality = judge_quality(log)
    return {
        "verdicts_naming_A": quality["verdict_a_rate"],
        "position_consistency": quality.get("position_consistency", float("nan")),
        "accuracy_when_A_is_better": acc([r for r in log if r["better_position"] == "A"]),
        "accuracy_when_B_is_better": acc([r for r in log if r["better_position"] == "B"]),
        "accuracy_when_better_is_longer": acc([r for r in log if (r.get("length_diff") or 0) > 0]),
        "accuracy_when_better_is_shorter": acc([r for r in log if (r.get("length_diff") or 0) < 0]),
    }


def _cell(value) -> str:
    if isinstance(value, dict):
        return "–" if value["value"] != value["value"] else f"{value['value']:.3f} [{value['low']:.2f}, {value['high']:.2f}]"
    if isinstance(value, int):
        return str(value)
    return "–" if value != value else f"{value:.3f}"


def format_report(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A Markdown table of :func:`report_rows` (intervals as ``value [low, high]``; NaN as ``–``)."""
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for r in rows:
        lines.append(f"| {r['metric']} | " + " | ".join(_cell(r[c]) for c in columns) + " |")
    return "\n".join(lines)


def _save_plots(run: Run, rows: list[dict], columns: list[str]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = run.dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    # the accuracy rows that carry intervals (not "accuracy on decided", a plain share)
    interval_rows = [r for r in rows if r["metric"].startswith("accuracy") and all(isinstance(r.get(c), dict) for c in columns)]
    figures = [
        (
            "before_after.png",
            lambda: plot_intervals(interval_rows, columns, title="Judge accuracy by stage (95% bootstrap intervals)"),
        )
    ]
    distilled, trained = run.results.get("distill", {}), run.results.get("grpo", {})
    if distilled.get("log_history"):
        keys = ("loss", "mean_token_accuracy")
        figures.append(("distill_curve.png", lambda: plot_training_curves(distilled["log_history"], keys, title="Distillation")))
    if trained.get("log_history"):
        grpo_keys = ("reward", "completions/mean_length", "completions/clipped_ratio", "kl")
        figures.append(("grpo_curves.png", lambda: plot_training_curves(trained["log_history"], grpo_keys, title="GRPO")))
    curve = held_out_curve(run)
    if curve:
        figures.append(("grpo_held_out.png", lambda: plot_held_out_curve(curve)))
    written = []
    for name, draw in figures:
        fig = draw()
        fig.savefig(plots / name, dpi=110)
        plt.close(fig)
        written.append(str(plots / name))
    return written


def write_report(run: Run, seconds: float) -> dict:
    """Build the report from the finished stages; write ``report.json``, ``report.md`` and the plots."""
    columns = [EVAL_COLUMNS[s] for s in EVAL_COLUMNS if s in run.results]
    rows = report_rows(run)
    final_log = _logs(run, "eval-final", run.preset.headline_sets)
    report = {
        "columns": columns,
        "rows": rows,
        "paired": paired_rows(run),
        "bias": bias_readout(final_log),
        "stages": {name: {"seconds": result.get("seconds")} for name, result in run.results.items()},
        "distill": {k: run.results["distill"].get(k) for k in ("train_loss", "train_examples", "dropped_too_long")},
        "grpo": summarize_log(run.results["grpo"].get("log_history", [])),
        "held_out_curve": held_out_curve(run),
        "models": {
            "base": run.preset.model,
            "distilled": run.results["distill"]["export_dir"],
            "final": run.results["grpo"]["export_dir"],
        },  # fmt: skip
        "headline_sets": run.preset.headline_sets,
        "shipped": {
            name: {"folder": r["folder"], "compression": r["compression"], "held_out": r["held_out"]}
            for name, r in run.results.get("ship", {}).items()
            if isinstance(r, dict) and "folder" in r
        },
    }
    report["plots"] = _save_plots(run, rows, columns)
    report["seconds"] = round(seconds, 1)
    (run.dir / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    (run.dir / "report.md").write_text(format_markdown(report), encoding="utf-8")
    return report


def format_markdown(report: dict) -> str:
    """The whole report as Markdown (what ``report.md`` holds and ``rmr1 pipeline`` prints)."""
    lines = [f"Headline: pooled {', '.join(report['headline_sets'])}; accuracy as value [95% bootstrap interval, by pair].", ""]
    lines.append(format_report(report["rows"], report["columns"]))
    lines += ["", "Paired differences of accuracy (same judgements, 95% bootstrap interval by pair):"]
    lines += [
        f"- {p.get('set', 'headline')}: {p['comparison']}: {p['value']:+.3f} [{p['low']:+.3f}, {p['high']:+.3f}]"
        f" (n={p['n']}, McNemar p={p.get('mcnemar_p', float('nan')):.3g})"
        for p in report["paired"]
    ]
    bias = report["bias"]
    lines += ["", "Final judge, bias readout: " + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in bias.items())]
    g = report["grpo"]
    if g:
        lines.append(
            f"GRPO: mean reward {g['reward_first']:+.2f} (first quarter of the steps) → {g['reward_last']:+.2f} "
            f"(last quarter) over {g['steps']} step{'s' if g['steps'] != 1 else ''}, "
            f"truncation rate {g['truncation_rate']:.2f}, mean completion {g['completion_length']:.0f} tokens"
        )
    for name, shipped in report.get("shipped", {}).items():
        acc, comp = shipped["held_out"], shipped["compression"]
        lines.append(
            f"Shipped {name} (rank {comp['rank']}, {comp['parameters'] / 1e6:.1f}M stored values, relative error "
            f"{comp['relative_error']:.3f}): held-out accuracy {acc['value']:.3f} [{acc['low']:.2f}, {acc['high']:.2f}]"
        )
    lines.append("Stage seconds: " + ", ".join(f"{k} {v['seconds']}" for k, v in report["stages"].items()))
    return "\n".join(lines) + "\n"
