"""The whole RM-R1 recipe end to end, in one command (``rmr1 pipeline --preset cpu``).

Stages, each through its own entry point (the same ``main`` the CLI, notebooks and tests call),
in :data:`STAGES` order:

1. **data** — ``rmr1 prepare`` with the preset's data recipe (the judging curriculum: a train split
   in both A/B orders, held-out pairs of the same families, held-out families);
2. **eval-base** — ``rmr1 evaluate`` of the starting model on every evaluation set, each pair in
   both orders;
3. **traces** — ``rmr1 distill-data`` with the preset's teacher (``rule``: exact traces for the
   verifiable train tasks), plus any hand-written traces (checked as pass 0);
4. **distill** — ``rmr1 distill`` on those traces;
5. **eval-distill** — the distilled model, same sets;
6. **grpo** — ``rmr1 grpo`` from the distilled model on the train tasks, optionally evaluating
   held-out pairs every few steps (``grpo_eval_every``);
7. **eval-final** — the final model, same sets;

then a report: the headline metrics on the pooled held-out sets — format compliance, accuracy
with a seeded 95 % bootstrap interval clustered by pair, position consistency, verdicts naming
A — per-set accuracies, paired differences between the models, a position- and length-bias
readout of the final judge, ``report.md``/``report.json`` and plots. Each stage records
``stage.json`` when done, so an interrupted run resumes at the first unfinished stage
(evaluations also resume mid-way from their logs); ``--force`` reruns everything.

Presets are YAML files in ``recipes/pipeline/`` (``cpu``: the course's main job and ``make
quickstart``; ``cpu-long``: an hour, GRPO visibly improving the judge; ``smoke``: seconds on a random
model, for tests).

How we differ from the paper: RM-R1 distils 8.7K teacher traces, then runs GRPO for days on 64K
pairs with 7B–32B models. The CPU presets run every stage of that recipe on the 135M embedded
model with a curriculum it can learn (:mod:`rmr1_utils.curriculum`), so a learner sees the judge
learn; what a 135M judge cannot learn (open-ended chat judgement) shows in the hand-written
quickstart pairs' row.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rmr1_utils import compact, distill_data, model_card, prepare
from rmr1_utils.data import load_judge_task_records, write_jsonl
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.evaluate import run_evaluation
from rmr1_utils.generation import TransformersBackend
from rmr1_utils.models import load_model_and_tokenizer, load_tokenizer
from rmr1_utils.pipeline_preset import PipelinePreset, Run, _overrides, _slug, load_preset  # noqa: F401 - load_preset: the stage's API
from rmr1_utils.pipeline_report import accuracy_interval, faithfulness_cell, format_markdown, write_report
from rmr1_utils.resources import resolve_data_path
from rmr1_utils.runlog import read_log
from rmr1_utils.stage import non_negative_int, output_folder, parse_stage_args, stage_parser


def parse_stage_configs(preset: PipelinePreset, run_dir: Path, quiet: bool = False) -> tuple[dict[str, tuple], dict[str, list]]:
    """The distill and GRPO configs of a run, parsed once, before the first stage.

    Each training stage is then called with its parsed ``(script, training, model)`` dataclasses
    (TRL's ``TrlParser`` reads the recipe, the preset's overrides and what the run fixes: the
    starting model, the folders, the seed), so a bad override fails here, not minutes into the run.
    GRPO starts from the distilled model, whose folder is known before distillation runs.

    Args:
        preset: the preset.
        run_dir: the run folder (each stage writes into ``run_dir/<stage>``).
        quiet: no progress bars.

    Returns:
        ``(configs, argvs)``: ``{"distill": (DistillScriptArguments, DistillConfig, ModelConfig), "grpo": (...)}``
        and each stage's equivalent ``rmr1 distill``/``rmr1 grpo`` arguments (the command its model card records).

    Raises:
        DataError: the recipe and the key that does not parse.
    """
    from rmr1_utils import distill, grpo  # TRL loads here; every training run needs it anyway

    quiet_args = ["--disable_tqdm", "true"] if quiet else []
    configs: dict[str, tuple] = {}
    argvs: dict[str, list] = {}
    model = preset.model
    for name, stage, recipe, overrides, data in (
        ("distill", distill, preset.distill_recipe, preset.distill_overrides, run_dir / "traces"),
        ("grpo", grpo, preset.grpo_recipe, preset.grpo_overrides, run_dir / "data"),
    ):
        args = ["--config", recipe, "--model_name_or_path", model, "--output_dir", str(run_dir / name),
                "--dataset_path", str(data), "--seed", str(preset.seed), *_overrides(overrides), *quiet_args]  # fmt: skip
        try:
            configs[name], argvs[name] = stage.parse_args(args), args
        except DataError as e:
            raise DataError(f"{name}_overrides (on recipe {recipe!r}): {e}") from None
        script_args, training_args, _ = configs[name]
        model = script_args.export_dir or str(Path(training_args.output_dir) / "final")  # where the next stage starts
    return configs, argvs


# ---------------------------------------------------------------------------------------------
# Stages
# ---------------------------------------------------------------------------------------------


def evaluate_model(run: Run, model_path: str, out: Path, sets: Sequence[str] | None = None, model=None) -> dict:
    """Judge every evaluation set (or ``sets``) with one model, each into ``out/<set>/``.

    Args:
        run: the run.
        model_path: the model to load (ignored when ``model`` is given).
        out: the folder of this evaluation.
        sets: which evaluation sets (default: all of the preset's).
        model: an already loaded ``(model, tokenizer)`` (GRPO's policy during training).

    Returns:
        ``{set name: evaluation summary}``.
    """
    preset = run.preset
    loaded, tokenizer = model if model is not None else load_model_and_tokenizer(model_path)
    backend = TransformersBackend(loaded, tokenizer, batch_size=preset.eval_batch_size)
    summaries = {}
    for name in sets or preset.eval_sets:
        summaries[name] = run_evaluation(
            "pairs", run.eval_path(name), out / _slug(name), backend=backend, seed=preset.seed,
            max_new_tokens=preset.eval_max_new_tokens, chunk_size=preset.eval_batch_size, progress=not run.quiet,
            both_orders=preset.eval_both_orders,
        )  # fmt: skip
    return {"sets": summaries}


def stage_data(run: Run, out: Path) -> dict:
    args = ["--recipe", run.preset.data_recipe, "--out", str(out), "--seed", str(run.preset.seed)]
    return {"summary": prepare.main([*args, *(["--quiet"] if run.quiet else [])])["summary"]}


def stage_eval_base(run: Run, out: Path) -> dict:
    return evaluate_model(run, run.preset.model, out)


def select_traces(selection: dict, tokenizer, out: Path) -> dict:
    """Write the hand-written traces an ``extra_traces`` entry selects to ``out`` (unchanged records).

    Args:
        selection: a :func:`trace_selection` entry.
        tokenizer: the starting model's tokenizer (``max_tokens`` counts its tokens, chat template
            included, as distillation will).
        out: the file to write.

    Returns:
        ``{"path", "selected", "of", "ids"}``.
    """
    path = resolve_data_path(selection["path"])
    tasks = load_judge_task_records(path)  # one read: the kept records are written back unchanged
    keep, kept_records = set(), []
    for record, task in tasks:
        if selection["domains"] is not None and task["domain"] not in selection["domains"]:
            continue
        if selection["max_tokens"] is not None:
            messages = [*task["messages"], {"role": "assistant", "content": task.get("trace") or ""}]
            if len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)) > selection["max_tokens"]:
                continue
        keep.add(task["id"])
        kept_records.append(record)
    if not keep:
        wanted = f"domains {selection['domains']}, max_tokens {selection['max_tokens']}"
        raise RMR1Error(f"{path}: extra_traces selects no trace ({wanted})")
    write_jsonl(out, kept_records)
    return {"path": str(path), "selected": len(keep), "of": len(tasks), "ids": sorted(keep)}


def stage_traces(run: Run, out: Path) -> dict:
    preset = run.preset
    tasks, hand_written = [str(run.dir / "data")], []
    if preset.extra_traces:
        tokenizer = load_tokenizer(preset.model)
        for number, selection in enumerate(preset.extra_traces, 1):
            target = out / "hand-written" / f"{number}-{Path(selection['path']).name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            hand_written.append(select_traces(selection, tokenizer, target))
            tasks.append(str(target))
    for chosen in hand_written:
        run.say(f"traces: {chosen['selected']} of the {chosen['of']} hand-written traces of {chosen['path']}")
    args = ["--tasks", *tasks, "--teacher", preset.teacher, "--out", str(out), "--seed", str(preset.seed)]
    return {"summary": distill_data.main([*args, *(["--quiet"] if run.quiet else [])]), "hand_written": hand_written}


def stage_distill(run: Run, out: Path) -> dict:
    from rmr1_utils import distill  # TRL and torch load only when training runs

    report = distill.main(run.configs["distill"], argv=run.argvs["distill"])
    return {k: report[k] for k in ("export_dir", "train_loss", "log_history", "train_examples", "dropped_too_long", "runtime_s")}


def stage_eval_distill(run: Run, out: Path) -> dict:
    return evaluate_model(run, run.results["distill"]["export_dir"], out)


def stage_grpo(run: Run, out: Path) -> dict:
    preset = run.preset
    callbacks = []
    if preset.grpo_eval_every:
        callbacks.append(held_out_evaluation(run, out / "held-out-curve", preset.grpo_eval_every))
    from rmr1_utils import grpo  # TRL and torch load only when training runs

    report = grpo.main(run.configs["grpo"], callbacks=callbacks, argv=run.argvs["grpo"])
    keep = ("export_dir", "log_history", "summary", "train_tasks", "dropped_too_long", "rollout", "runtime_s")
    result = {k: report[k] for k in keep}
    if callbacks:
        result["held_out_curve"] = callbacks[0].points
    return result


def stage_eval_final(run: Run, out: Path) -> dict:
    return evaluate_model(run, run.results["grpo"]["export_dir"], out)


def stage_ship(run: Run, out: Path) -> dict:
    """Compress the final judge into ``rmr1_utils/judges/<ship_as>/`` (:func:`~rmr1_utils.compact.ship_folder`:
    ``$RMR1_CACHE/judges/`` for an installed package) and measure the compressed one.

    With ``ship_distilled`` the distilled judge goes beside it as ``<ship_as>-distilled`` (lesson 04
    starts GRPO from it). Each card (``judge.json``) records the base model, the command, the
    preset, the compression and the held-out accuracy of the *compressed* judge with its interval
    and every judgement's outcome (what ``tests/test_shipped_judge.py`` reproduces).
    """
    return {name: _ship_one(run, name, export, out / _slug(name)) for name, export in _ship_list(run)}


def _ship_list(run: Run) -> list[tuple[str, str]]:
    preset = run.preset
    items = [(preset.ship_as, run.results["grpo"]["export_dir"])]
    if preset.ship_distilled:
        items.append((f"{preset.ship_as}-distilled", run.results["distill"]["export_dir"]))
    return items


def _ship_one(run: Run, name: str, export: str, out: Path) -> dict:
    import torch

    preset = run.preset
    base, _ = load_model_and_tokenizer(preset.model, device="cpu", dtype=torch.float32)
    trained, _ = load_model_and_tokenizer(export, device="cpu", dtype=torch.float32)
    tensors, stats = compact.compress(base, trained, preset.ship_rank)
    del base, trained
    folder = compact.ship_folder() / name
    card = {
        "name": name,
        "base_model": preset.model,
        "stage": "distill" if name.endswith("-distilled") else "grpo",
        "command": f"rmr1 pipeline --preset {run.preset_name}",
        "preset": model_card.redact(dataclasses.asdict(preset)),
        "compression": {"rank": preset.ship_rank, **stats},
    }
    compact.save_judge(folder, tensors, card)
    summaries = evaluate_model(run, name, out, preset.headline_sets)
    log = [r for s in preset.headline_sets for r in read_log(out / _slug(s) / "log.jsonl")]
    card["held_out"] = {
        "sets": preset.headline_sets,
        "accuracy": accuracy_interval(log, preset).to_dict(),
        "faithful_quotes": faithfulness_cell(log, preset, "faithful_share_ci"),
        "outcomes": {r["key"]: bool(r["correct"]) for r in log},
        "max_new_tokens": preset.eval_max_new_tokens,
        "seed": preset.seed,
        "data_recipe": preset.data_recipe,
    }
    compact.save_judge(folder, tensors, card)
    return {"folder": str(folder), "compression": card["compression"], "held_out": card["held_out"]["accuracy"], **summaries}


#: The stages, in order: (name, function(run, out folder) -> JSON-able result, runs when).
STAGES: list[tuple[str, Callable[[Run, Path], dict], Callable[[PipelinePreset], bool]]] = [
    ("data", stage_data, lambda p: True),
    ("eval-base", stage_eval_base, lambda p: True),
    ("traces", stage_traces, lambda p: True),
    ("distill", stage_distill, lambda p: True),
    ("eval-distill", stage_eval_distill, lambda p: p.eval_after_distill),
    ("grpo", stage_grpo, lambda p: True),
    ("eval-final", stage_eval_final, lambda p: True),
    ("ship", stage_ship, lambda p: bool(p.ship_as)),
]


def held_out_evaluation(run: Run, out: Path, every: int):
    """A ``TrainerCallback`` that judges a held-out set with the current policy every ``every`` steps.

    Built by a function so that importing the pipeline (every ``rmr1`` call does) does not load
    transformers. Each point records the step, the greedy accuracy with its bootstrap interval
    (clustered by pair), the format compliance and the mean training reward of the steps since the
    previous point; the report plots them.

    Args:
        run: the pipeline run (its preset names the held-out set and the evaluation settings).
        out: folder for the per-step evaluation logs.
        every: evaluate after every ``every``-th optimizer step.

    Returns:
        The callback; its ``points`` list fills as training goes.
    """
    from transformers import TrainerCallback

    class HeldOutEvaluation(TrainerCallback):
        def __init__(self):
            self.name = run.preset.grpo_eval_set or run.preset.headline_sets[0]
            self.points: list[dict] = []

        def on_step_end(self, args, state, control, model=None, processing_class=None, **kwargs):
            if state.global_step % every:
                return
            step_dir = out / f"step-{state.global_step}"
            summary = evaluate_model(run, "", step_dir, [self.name], model=(model, processing_class))
            log = read_log(step_dir / _slug(self.name) / "log.jsonl")
            interval = accuracy_interval(log, run.preset)
            recent = [h["reward"] for h in state.log_history if "reward" in h][-every:]
            self.points.append({
                "step": state.global_step, "accuracy": interval.to_dict(),
                "reward": sum(recent) / len(recent) if recent else None,
                "format_compliance": summary["sets"][self.name]["quality"]["format_compliance"],
            })  # fmt: skip

    return HeldOutEvaluation()


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------


def run_pipeline(preset: PipelinePreset, out: str | Path, force: bool = False, quiet: bool = False, name: str = "custom") -> dict:
    """Run (or resume) the pipeline in ``out``.

    Args:
        preset: the preset.
        out: the run folder.
        force: redo every stage even when its ``stage.json`` exists.
        quiet: no progress bars or stage banners.
        name: the preset's name (recorded in what the run ships).

    Returns:
        The report (see :func:`write_report`); also ``report.json`` and ``report.md``.
    """
    run = Run(preset, Path(out), quiet, preset_name=name)
    run.configs, run.argvs = parse_stage_configs(preset, run.dir, quiet)
    run.dir.mkdir(parents=True, exist_ok=True)
    if force:
        for marker in run.dir.glob("*/stage.json"):
            marker.unlink()
    _check_identity(run, force)
    started = time.perf_counter()
    for name, function, enabled in STAGES:
        if not enabled(preset):
            continue
        marker = run.dir / name / "stage.json"
        if marker.exists():
            run.say(f"{name}: done before, skipped")
            run.results[name] = json.loads(marker.read_text())
            continue
        run.say(name)
        t = time.perf_counter()
        result = function(run, run.dir / name)
        result["seconds"] = round(time.perf_counter() - t, 1)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(result, indent=2, default=str) + "\n")
        run.results[name] = result
    report = write_report(run, time.perf_counter() - started)
    model_card.add_pipeline_results(report, format_markdown(report), run.preset_name, run.dir)  # metrics on the exports' cards
    return report


#: Preset fields that do not change what the stages compute (a resumed run may change them).
_NOT_IDENTITY = ("ship_as", "ship_rank", "ship_distilled", "bootstrap_resamples")


def _check_identity(run: Run, force: bool) -> None:
    """Refuse to resume a run folder made with other settings: its stages would mix two runs."""
    identity = {k: v for k, v in dataclasses.asdict(run.preset).items() if k not in _NOT_IDENTITY}
    identity = json.loads(json.dumps(identity, default=str))  # as it reads back from run.json
    path = run.dir / "run.json"
    if path.exists() and not force:
        recorded = json.loads(path.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(recorded) | set(identity) if recorded.get(k) != identity.get(k))
        if changed:
            raise RMR1Error(
                f"{run.dir}: this run folder was made with other settings ({', '.join(changed)} differ); "
                "resume with the same preset, pass --force to start afresh, or choose another --out"
            )
    path.write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def make_parser(subparsers=None) -> argparse.ArgumentParser:
    """Parser of ``rmr1 pipeline``."""
    parser = stage_parser(
        subparsers, "pipeline", "The whole recipe end to end: data → baseline eval → distillation → GRPO → final eval."
    )
    parser.add_argument("--preset", default="cpu", help="a bundled preset (cpu, cpu-long, smoke) or a YAML path")
    parser.add_argument(
        "--out", type=output_folder, help="run folder (default runs/pipeline-<preset>); an existing one is resumed"
    )
    parser.add_argument("--model", help="override the preset's starting model")
    parser.add_argument("--seed", type=non_negative_int, help="override the preset's seed (every stage)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
        help="override one preset field (YAML value; a dotted key reaches into distill_overrides/grpo_overrides), "
        "e.g. --set distill_overrides.side_token_weight=1; repeatable",
    )  # fmt: skip
    parser.add_argument("--force", action="store_true", help="redo every stage")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(args: argparse.Namespace | Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 pipeline``; prints the report and where everything went."""
    args = parse_stage_args(args, make_parser)
    preset, path = load_preset(args.preset, args.settings)
    if args.model:
        preset.model = args.model
    if args.seed is not None:
        preset.seed = args.seed
    out = Path(args.out or f"runs/pipeline-{path.stem}")
    report = run_pipeline(preset, out, force=args.force, quiet=args.quiet, name=args.preset)
    print(f"\nrmr1 pipeline ({path.stem}, {preset.model}): {report['seconds']:.0f} s\n")
    print(format_markdown(report))
    print(f"run folder: {out} (report.md, report.json, plots/: {', '.join(Path(p).name for p in report['plots'])})")
    return report
