"""The whole RM-R1 recipe end to end, in one command (``rmr1 pipeline --preset cpu``).

Stages, each through its own entry point (the same ``main`` the CLI, notebooks and tests call):

1. **data** — ``rmr1 prepare`` with the preset's data recipe (judge tasks for GRPO);
2. **eval-base** — ``rmr1 evaluate`` of the starting model on held-out preference pairs, in both
   orders (format compliance, accuracy overall and per domain, position consistency);
3. **distill** — ``rmr1 distill`` on chain-of-rubrics traces;
4. **eval-distill** — the distilled model, same pairs (optional);
5. **grpo** — ``rmr1 grpo`` from the distilled model on the prepared tasks;
6. **eval-final** — the final model, same pairs;

then a before/after table (printed and written to ``report.md``), ``report.json``, and plots in
``plots/``. Everything lives in one run folder; each stage records ``stage.json`` when done, so an
interrupted run resumes at the first unfinished stage (evaluations also resume mid-way from their
logs). ``--force`` reruns everything.

Presets are YAML files in ``recipes/pipeline/`` (``cpu``: the course's main job and ``make
quickstart``; ``smoke``: seconds on a random model, for tests). A preset names the model, the data
recipe, the evaluation set and settings, and the distill/GRPO recipes with their overrides.

How we differ from the paper: RM-R1 distils 8.7K traces from a strong teacher, then runs GRPO for
days on 64K pairs with 7B–32B models. The ``cpu`` preset runs every stage of that recipe on the
135M embedded model in minutes — it shows each stage's effect on format and behaviour, not the
paper's accuracy.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rmr1_utils.errors import RMR1Error

#: The evaluations, in order, and how the report names them.
EVALS = {"eval-base": "base", "eval-distill": "distilled", "eval-final": "final"}


@dataclass
class PipelinePreset:
    """A pipeline preset (``recipes/pipeline/<name>.yaml``).

    Attributes:
        model: the starting model (``embedded``, ``tiny-random``, a folder or a Hub id).
        data_recipe: the ``rmr1 prepare`` recipe for the GRPO tasks.
        eval_data: held-out preference pairs (JSONL) judged before and after.
        eval_both_orders: judge every pair in both A/B orders (position consistency).
        eval_max_new_tokens: generation cap of the evaluations.
        eval_batch_size: prompts per generation batch in the evaluations.
        eval_after_distill: also evaluate the distilled model.
        distill_recipe: the ``rmr1 distill`` recipe (name or path).
        distill_overrides: fields overriding it.
        grpo_recipe: the ``rmr1 grpo`` recipe (name or path).
        grpo_overrides: fields overriding it.
        seed: seed of every stage.
    """

    model: str = "embedded"
    data_recipe: str = "tiny-local"
    eval_data: str = "data/quickstart_pairs.jsonl"
    eval_both_orders: bool = True
    eval_max_new_tokens: int = 512
    eval_batch_size: int = 16
    eval_after_distill: bool = True
    distill_recipe: str = "tiny-cpu"
    distill_overrides: dict = field(default_factory=dict)
    grpo_recipe: str = "tiny-cpu"
    grpo_overrides: dict = field(default_factory=dict)
    seed: int = 42


def load_preset(preset: str) -> tuple[PipelinePreset, Path]:
    """A preset by bundled name (``cpu``, ``smoke``) or YAML path; unknown keys fail.

    Returns:
        ``(preset, path)``.
    """
    import dataclasses

    import yaml

    from rmr1_utils.training import recipe_path

    path = recipe_path(preset, "pipeline")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {f.name for f in dataclasses.fields(PipelinePreset)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RMR1Error(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return PipelinePreset(**raw), path


def _overrides(values: dict) -> list[str]:
    args = []
    for key, value in values.items():
        args += [f"--{key}", json.dumps(value) if isinstance(value, (list, dict)) else str(value)]
    return args


class Stage:
    """A stage's folder and its ``stage.json`` marker (written when the stage is done)."""

    def __init__(self, run: Path, name: str):
        self.name = name
        self.dir = run / name
        self.marker = self.dir / "stage.json"

    def done(self) -> dict | None:
        return json.loads(self.marker.read_text()) if self.marker.exists() else None

    def finish(self, result: dict) -> dict:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(json.dumps(result, indent=2, default=str) + "\n")
        return result


def _evaluate(preset: PipelinePreset, model_path: str, out: Path, quiet: bool) -> dict:
    from rmr1_utils.evaluate import run_evaluation
    from rmr1_utils.generation import TransformersBackend
    from rmr1_utils.models import load_model_and_tokenizer
    from rmr1_utils.training import resolve_data_path

    model, tokenizer = load_model_and_tokenizer(model_path)
    backend = TransformersBackend(model, tokenizer, batch_size=preset.eval_batch_size)
    return run_evaluation(
        "pairs", resolve_data_path(preset.eval_data), out, backend=backend, seed=preset.seed,
        max_new_tokens=preset.eval_max_new_tokens, chunk_size=preset.eval_batch_size, progress=not quiet,
        both_orders=preset.eval_both_orders,
    )  # fmt: skip


def report_rows(summaries: dict[str, dict]) -> list[dict]:
    """The before/after table: one row per metric, one column per evaluated model.

    Args:
        summaries: evaluation summaries by column name (``base``, ``distilled``, ``final``).

    Returns:
        Rows ``{"metric", <column>: value, ...}``: format compliance, accuracy overall and per
        domain, position consistency, verdict rate, A-verdict rate.
    """
    names = list(summaries)
    rows = []

    def add(metric, get):
        values = {n: get(summaries[n]) for n in names}
        if all(v is not None for v in values.values()):
            rows.append({"metric": metric, **values})

    add("format compliance", lambda s: s["quality"].get("format_compliance"))
    add("accuracy", lambda s: s["score"])
    for domain in summaries[names[0]].get("domains", {}):
        add(f"accuracy: {domain}", lambda s, d=domain: s.get("domains", {}).get(d))
    add("position consistency", lambda s: s["quality"].get("position_consistency"))
    add("verdict rate", lambda s: s["quality"].get("verdict_rate"))
    add("verdicts naming A", lambda s: s["quality"].get("verdict_a_rate"))
    return rows


def format_report(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """A Markdown table of :func:`report_rows` (NaN shown as ``–``)."""
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for r in rows:
        cells = ["–" if r[c] != r[c] else f"{r[c]:.3f}" for c in columns]
        lines.append(f"| {r['metric']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _save_plots(run: Path, rows: list[dict], columns: list[str], distill: dict, grpo: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rmr1_utils.plots import plot_run_comparison, plot_training_curves

    plots = run / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    written = []
    shown = [r for r in rows if r["metric"] != "verdicts naming A"]
    figures = [("before_after.png", lambda: plot_run_comparison(shown, title="Judge quality by stage", series=columns))]
    if distill.get("log_history"):
        figures.append(("distill_curve.png", lambda: plot_training_curves(distill["log_history"], ("loss", "mean_token_accuracy"),
                                                                            title="Distillation")))  # fmt: skip
    if grpo.get("log_history"):
        keys = ("reward", "completions/mean_length", "completions/clipped_ratio", "kl")
        figures.append(("grpo_curves.png", lambda: plot_training_curves(grpo["log_history"], keys, title="GRPO")))
    for name, draw in figures:
        fig = draw()
        fig.savefig(plots / name, dpi=110)
        plt.close(fig)
        written.append(str(plots / name))
    return written


def run_pipeline(preset: PipelinePreset, out: str | Path, force: bool = False, quiet: bool = False) -> dict:
    """Run (or resume) the pipeline in ``out``.

    Args:
        preset: the preset.
        out: the run folder.
        force: redo every stage even when its ``stage.json`` exists.
        quiet: no progress bars or stage banners.

    Returns:
        The report: ``columns``, ``rows`` (the before/after table), ``stages`` (seconds and key
        numbers per stage), ``plots``, ``seconds`` (total); also ``report.json`` and ``report.md``.
    """
    from rmr1_utils import distill, grpo, prepare

    run = Path(out)
    run.mkdir(parents=True, exist_ok=True)
    if force:
        for marker in run.glob("*/stage.json"):
            marker.unlink()
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def say(text):
        if not quiet:
            print(f"\n== rmr1 pipeline: {text}", flush=True)

    def stage(name, fn):
        s = Stage(run, name)
        previous = s.done()
        if previous is not None:
            say(f"{name}: done before, skipped")
            timings[name] = previous.get("seconds", 0.0)
            return previous
        say(name)
        t = time.perf_counter()
        result = fn(s.dir)
        result["seconds"] = round(time.perf_counter() - t, 1)
        timings[name] = result["seconds"]
        return s.finish(result)

    seed = str(preset.seed)
    stage("data", lambda d: {"summary": prepare.main(["--recipe", preset.data_recipe, "--out", str(d), "--seed", seed,
                                                       *(["--quiet"] if quiet else [])])["summary"]})  # fmt: skip
    summaries = {"base": stage("eval-base", lambda d: _evaluate(preset, preset.model, d, quiet))}

    def run_distill(d):
        args = ["--config", preset.distill_recipe, "--model_name_or_path", preset.model, "--output_dir", str(d),
                "--seed", seed, *_overrides(preset.distill_overrides)]  # fmt: skip
        if quiet:
            args += ["--disable_tqdm", "true"]
        report = distill.main(args)
        return {k: report[k] for k in ("export_dir", "train_loss", "log_history", "train_examples", "dropped_too_long")}

    distilled = stage("distill", run_distill)
    if preset.eval_after_distill:
        summaries["distilled"] = stage("eval-distill", lambda d: _evaluate(preset, distilled["export_dir"], d, quiet))

    def run_grpo(d):
        args = ["--config", preset.grpo_recipe, "--model_name_or_path", distilled["export_dir"], "--output_dir", str(d),
                "--dataset_path", str(run / "data"), "--seed", seed, *_overrides(preset.grpo_overrides)]  # fmt: skip
        if quiet:
            args += ["--disable_tqdm", "true"]
        report = grpo.main(args)
        return {k: report[k] for k in ("export_dir", "log_history", "summary", "train_tasks", "dropped_too_long", "rollout")}

    trained = stage("grpo", run_grpo)
    summaries["final"] = stage("eval-final", lambda d: _evaluate(preset, trained["export_dir"], d, quiet))

    columns = list(summaries)
    rows = report_rows(summaries)
    report = {
        "columns": columns,
        "rows": rows,
        "stages": {
            name: {"seconds": timings.get(name)}
            for name in ("data", "eval-base", "distill", "eval-distill", "grpo", "eval-final")
            if name in timings
        },  # fmt: skip
        "distill": {"train_loss": distilled.get("train_loss"), "train_examples": distilled.get("train_examples")},
        "grpo": trained.get("summary", {}),
        "models": {"base": preset.model, "distilled": distilled["export_dir"], "final": trained["export_dir"]},
    }
    report["plots"] = _save_plots(run, rows, columns, distilled, trained)
    report["seconds"] = round(time.perf_counter() - started, 1)
    table = format_report(rows, columns)
    (run / "report.md").write_text(
        f"# rmr1 pipeline report\n\n{table}\n\nStage seconds: "
        + ", ".join(f"{k} {v['seconds']}" for k, v in report["stages"].items())
        + f"\n\nGRPO: {json.dumps(report['grpo'])}\n",
        encoding="utf-8",
    )
    (run / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return report


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 pipeline``."""
    from rmr1_utils.stage import stage_parser

    parser = stage_parser(
        subparsers, "pipeline", "The whole recipe end to end: data → baseline eval → distillation → GRPO → final eval."
    )
    parser.add_argument("--preset", default="cpu", help="a bundled preset (cpu, smoke) or a YAML path")
    parser.add_argument("--out", help="run folder (default runs/pipeline-<preset>); an existing one is resumed")
    parser.add_argument("--model", help="override the preset's starting model")
    parser.add_argument("--force", action="store_true", help="redo every stage")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 pipeline``; prints the before/after table and where everything went."""
    from rmr1_utils.stage import parse_stage_args

    args = parse_stage_args(args, make_parser)
    preset, path = load_preset(args.preset)
    if args.model:
        preset.model = args.model
    out = Path(args.out or f"runs/pipeline-{path.stem}")
    report = run_pipeline(preset, out, force=args.force, quiet=args.quiet)
    print(f"\nrmr1 pipeline ({path.stem}, {preset.model}): {report['seconds']:.0f} s; held-out pairs: {preset.eval_data}\n")
    print(format_report(report["rows"], report["columns"]))
    print("\nstage seconds: " + ", ".join(f"{k} {v['seconds']}" for k, v in report["stages"].items()))
    g = report["grpo"]
    if g:
        print(
            f"GRPO: reward {g['reward_first']:+.2f} → {g['reward_last']:+.2f}, truncation rate {g['truncation_rate']:.2f}, "
            f"mean completion {g['completion_length']:.0f} tokens"
        )
    print(f"\nrun folder: {out} (report.md, report.json, plots/: {', '.join(Path(p).name for p in report['plots'])})")
    return report
