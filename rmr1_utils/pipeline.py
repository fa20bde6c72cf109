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
from dataclasses import dataclass, field
from pathlib import Path

from rmr1_utils import distill_data, model_card, prepare
from rmr1_utils.config_files import build_dataclass, read_yaml_mapping, recipe_path
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.evaluate import run_evaluation
from rmr1_utils.runlog import read_log
from rmr1_utils.scoring import judge_quality
from rmr1_utils.stats import bootstrap_mean, mcnemar_exact, paired_difference
from rmr1_utils.training import SWAPPED_SUFFIX, resolve_data_path, summarize_log

#: Evaluation stages and the report column each fills.
EVAL_COLUMNS = {"eval-base": "base", "eval-distill": "distilled", "eval-final": "final"}

#: Prefix of an evaluation-set path inside the run's data stage (``data:pairs/test.jsonl``).
DATA_PREFIX = "data:"


@dataclass
class PipelinePreset:
    """A pipeline preset (``recipes/pipeline/<name>.yaml``).

    Attributes:
        model: the starting model (``embedded``, ``tiny-random``, a folder or a Hub id).
        data_recipe: the ``rmr1 prepare`` recipe.
        teacher: the ``rmr1 distill-data`` teacher of the train split (``rule``, a model, a URL).
        extra_traces: hand-written traces added to the distillation mix (checked as pass 0): a
            file path, or ``{path, domains, max_tokens}`` to take only the traces of those domains
            whose whole example (prompt + trace) fits in ``max_tokens`` tokens of the model.
        eval_sets: name → preference-pair file; ``data:…`` is inside the data stage's folder.
        headline_sets: the sets pooled for the headline metrics (default: all).
        eval_both_orders: judge every pair in both A/B orders (position consistency).
        eval_max_new_tokens: generation cap of the evaluations.
        eval_batch_size: prompts per generation batch in the evaluations.
        eval_after_distill: also evaluate the distilled model.
        distill_recipe, distill_overrides: the ``rmr1 distill`` recipe and fields overriding it.
        grpo_recipe, grpo_overrides: the ``rmr1 grpo`` recipe and fields overriding it.
        grpo_eval_every: evaluate ``grpo_eval_set`` every N GRPO steps (0: never).
        grpo_eval_set: the set evaluated during GRPO (default: the first headline set).
        ship_as: also compress the final judge (:mod:`rmr1_utils.compact`) under this name in
            ``rmr1_utils/judges/`` and evaluate the compressed judge on the headline sets.
        ship_rank: the rank of the compressed delta.
        ship_distilled: also ship the distilled judge, as ``<ship_as>-distilled``.
        bootstrap_resamples: resamples of every bootstrap interval.
        seed: seed of every stage.
    """

    model: str = "embedded"
    data_recipe: str = "judge-curriculum"
    teacher: str = "rule"
    extra_traces: list[str | dict] = field(default_factory=list)
    eval_sets: dict[str, str] = field(default_factory=lambda: {"held-out": "data:pairs/test.jsonl"})
    headline_sets: list[str] | None = None
    eval_both_orders: bool = True
    eval_max_new_tokens: int = 128
    eval_batch_size: int = 16
    eval_after_distill: bool = True
    distill_recipe: str = "tiny-cpu"
    distill_overrides: dict = field(default_factory=dict)
    grpo_recipe: str = "tiny-cpu"
    grpo_overrides: dict = field(default_factory=dict)
    grpo_eval_every: int = 0
    grpo_eval_set: str | None = None
    ship_as: str | None = None
    ship_rank: int = 32
    ship_distilled: bool = False
    bootstrap_resamples: int = 2000
    seed: int = 42

    def __post_init__(self) -> None:
        if not self.eval_sets:
            raise ValueError("eval_sets: at least one evaluation set")
        unknown = [s for s in (self.headline_sets or []) + [self.grpo_eval_set or ""] if s and s not in self.eval_sets]
        if unknown:
            raise ValueError(
                f"headline_sets/grpo_eval_set name unknown evaluation sets {unknown} (eval_sets: {list(self.eval_sets)})"
            )
        if self.headline_sets is None:
            self.headline_sets = list(self.eval_sets)
        if self.grpo_eval_every < 0:
            raise ValueError("grpo_eval_every must be >= 0")
        self.extra_traces = [trace_selection(entry, i) for i, entry in enumerate(self.extra_traces, 1)]


@dataclass
class TraceSelection:
    """One ``extra_traces`` entry given as a mapping (``None``: no filter).

    Attributes:
        path: the hand-written trace file.
        domains: keep only the traces of these domains.
        max_tokens: keep only the traces whose whole example (prompt + trace) fits.
    """

    path: str
    domains: list[str] | None = None
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens is not None and self.max_tokens < 1:
            raise ValueError(f"'max_tokens' must be >= 1, got {self.max_tokens}")


def trace_selection(entry: str | dict, number: int = 1) -> dict:
    """One ``extra_traces`` entry as ``{"path", "domains", "max_tokens"}`` (``None``: no filter).

    Args:
        entry: a path, or a mapping with ``path`` and optionally ``domains``/``max_tokens``.
        number: the entry's 1-based position, for the error.

    Raises:
        ValueError: an unknown key, a missing path or a bad value (the preset's loader names its file).
    """
    if isinstance(entry, str):
        entry = {"path": entry}
    try:
        return dataclasses.asdict(build_dataclass(TraceSelection, entry, f"extra_traces entry {number}"))
    except DataError as e:  # raised inside PipelinePreset: as ValueError, build_dataclass adds the file
        raise ValueError(str(e)) from None


def load_preset(preset: str, settings: Sequence[str] = ()) -> tuple[PipelinePreset, Path]:
    """A preset by bundled name (``cpu``, ``cpu-long``, ``smoke``) or YAML path; unknown keys fail.

    Args:
        preset: the name or path.
        settings: ``KEY=VALUE`` overrides (``--set``): the value is read as YAML; a dotted key
            (``distill_overrides.max_steps``) sets one field of a mapping-valued key.

    Returns:
        ``(preset, path)``.

    Raises:
        DataError: a bad preset, or a bad ``--set`` (named).
    """
    import yaml

    path = recipe_path(preset, "pipeline")
    data = read_yaml_mapping(path, "pipeline preset")
    fields = {f.name for f in dataclasses.fields(PipelinePreset)}
    for setting in settings:
        key, sep, text = setting.partition("=")
        top, _, sub = key.partition(".")
        if not sep or top not in fields or (sub and top not in MAPPING_FIELDS):
            raise DataError(
                f"--set {setting!r}: expected KEY=VALUE with KEY a preset field "
                f"(or {'/'.join(MAPPING_FIELDS)}.FIELD); fields: {', '.join(sorted(fields))}"
            )
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise DataError(f"--set {setting!r}: the value is not valid YAML") from None
        if sub:
            data[top] = {**(data.get(top) or {}), sub: value}
        else:
            data[top] = value
    where = f"{path}{' with --set ' + ' '.join(settings) if settings else ''}"
    return build_dataclass(PipelinePreset, data, where), path


def check_stage_overrides(preset: PipelinePreset) -> None:
    """Parse the distill and GRPO configs the preset will run, so that a bad override fails before
    the first stage rather than minutes into the run.

    Raises:
        DataError: the recipe and the key that does not parse.
    """
    from rmr1_utils import distill, grpo  # TRL loads here; every training run needs it anyway

    for name, stage, recipe, overrides in (
        ("distill_overrides", distill, preset.distill_recipe, preset.distill_overrides),
        ("grpo_overrides", grpo, preset.grpo_recipe, preset.grpo_overrides),
    ):
        try:
            stage.parse_args(["--config", recipe, *_overrides(overrides)])
        except DataError as e:
            raise DataError(f"{name} (on recipe {recipe!r}): {e}") from None


#: Preset fields that are mappings of stage-config fields (``--set distill_overrides.max_steps=8``).
MAPPING_FIELDS = ("distill_overrides", "grpo_overrides", "eval_sets")


def _overrides(values: dict) -> list[str]:
    args = []
    for key, value in values.items():
        args += [f"--{key}", json.dumps(value) if isinstance(value, (list, dict)) else str(value)]
    return args


@dataclass
class Run:
    """One pipeline run: its preset, folder, and what the finished stages returned."""

    preset: PipelinePreset
    dir: Path
    quiet: bool = False
    results: dict[str, dict] = field(default_factory=dict)
    preset_name: str = "custom"

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"\n== rmr1 pipeline: {text}", flush=True)

    def eval_path(self, name: str) -> Path:
        path = self.preset.eval_sets[name]
        if path.startswith(DATA_PREFIX):
            return self.dir / "data" / path.removeprefix(DATA_PREFIX)
        return resolve_data_path(path)


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
    from rmr1_utils.generation import TransformersBackend
    from rmr1_utils.models import load_model_and_tokenizer

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


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


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
    from rmr1_utils.data import load_judge_tasks, read_jsonl, write_jsonl

    path = resolve_data_path(selection["path"])
    tasks = load_judge_tasks(path)
    keep = set()
    for task in tasks:
        if selection["domains"] is not None and task["domain"] not in selection["domains"]:
            continue
        if selection["max_tokens"] is not None:
            messages = [*task["messages"], {"role": "assistant", "content": task.get("trace") or ""}]
            if len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False)) > selection["max_tokens"]:
                continue
        keep.add(task["id"])
    if not keep:
        wanted = f"domains {selection['domains']}, max_tokens {selection['max_tokens']}"
        raise RMR1Error(f"{path}: extra_traces selects no trace ({wanted})")
    write_jsonl(out, [r for r in read_jsonl(path) if r.get("id") in keep])
    return {"path": str(path), "selected": len(keep), "of": len(tasks), "ids": sorted(keep)}


def stage_traces(run: Run, out: Path) -> dict:
    preset = run.preset
    tasks, hand_written = [str(run.dir / "data")], []
    if preset.extra_traces:
        from rmr1_utils.models import load_tokenizer

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
    preset = run.preset
    args = [
        "--config", preset.distill_recipe, "--model_name_or_path", preset.model, "--output_dir", str(out),
        "--dataset_path", str(run.dir / "traces"), "--seed", str(preset.seed), *_overrides(preset.distill_overrides),
    ]  # fmt: skip
    if run.quiet:
        args += ["--disable_tqdm", "true"]
    from rmr1_utils import distill  # TRL and torch load only when training runs

    report = distill.main(args)
    return {k: report[k] for k in ("export_dir", "train_loss", "log_history", "train_examples", "dropped_too_long", "runtime_s")}


def stage_eval_distill(run: Run, out: Path) -> dict:
    return evaluate_model(run, run.results["distill"]["export_dir"], out)


def stage_grpo(run: Run, out: Path) -> dict:
    preset = run.preset
    args = ["--config", preset.grpo_recipe, "--model_name_or_path", run.results["distill"]["export_dir"],
            "--output_dir", str(out), "--dataset_path", str(run.dir / "data"), "--seed", str(preset.seed),
            *_overrides(preset.grpo_overrides)]  # fmt: skip
    if run.quiet:
        args += ["--disable_tqdm", "true"]
    callbacks = []
    if preset.grpo_eval_every:
        callbacks.append(held_out_evaluation(run, out / "held-out-curve", preset.grpo_eval_every))
    from rmr1_utils import grpo  # TRL and torch load only when training runs

    report = grpo.main(args, callbacks=callbacks)
    keep = ("export_dir", "log_history", "summary", "train_tasks", "dropped_too_long", "rollout", "runtime_s")
    result = {k: report[k] for k in keep}
    if callbacks:
        result["held_out_curve"] = callbacks[0].points
    return result


def stage_eval_final(run: Run, out: Path) -> dict:
    return evaluate_model(run, run.results["grpo"]["export_dir"], out)


def stage_ship(run: Run, out: Path) -> dict:
    """Compress the final judge into ``rmr1_utils/judges/<ship_as>/`` and measure the compressed one.

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

    from rmr1_utils.compact import JUDGES_DIR, compress, save_judge
    from rmr1_utils.models import load_model_and_tokenizer

    preset = run.preset
    base, _ = load_model_and_tokenizer(preset.model, device="cpu", dtype=torch.float32)
    trained, _ = load_model_and_tokenizer(export, device="cpu", dtype=torch.float32)
    tensors, stats = compress(base, trained, preset.ship_rank)
    del base, trained
    folder = JUDGES_DIR / name
    card = {
        "name": name,
        "base_model": preset.model,
        "stage": "distill" if name.endswith("-distilled") else "grpo",
        "command": f"rmr1 pipeline --preset {run.preset_name}",
        "preset": dataclasses.asdict(preset),
        "compression": {"rank": preset.ship_rank, **stats},
    }
    save_judge(folder, tensors, card)
    summaries = evaluate_model(run, name, out, preset.headline_sets)
    log = [r for s in preset.headline_sets for r in read_log(out / _slug(s) / "log.jsonl")]
    card["held_out"] = {
        "sets": preset.headline_sets,
        "accuracy": accuracy_interval(log, preset).to_dict(),
        "outcomes": {r["key"]: bool(r["correct"]) for r in log},
        "max_new_tokens": preset.eval_max_new_tokens,
        "seed": preset.seed,
        "data_recipe": preset.data_recipe,
    }
    save_judge(folder, tensors, card)
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
# Report
# ---------------------------------------------------------------------------------------------


def pair_of(record: dict) -> str:
    """The pair a judgement belongs to (both orders of a pair are one cluster)."""
    return str(record["key"]).removesuffix(SWAPPED_SUFFIX)


def accuracy_interval(log: Sequence[dict], preset: PipelinePreset):
    """Accuracy of a log with its seeded bootstrap interval, clustered by pair."""
    return bootstrap_mean([float(r["correct"]) for r in log], [pair_of(r) for r in log], preset.bootstrap_resamples, preset.seed)


def held_out_curve(run: Run) -> list[dict]:
    """GRPO's held-out curve: step 0 is the distilled judge (its evaluation of the same set), then
    the points :func:`held_out_evaluation` measured during training."""
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
    interval, position consistency, verdicts naming A, judgements), then each set's accuracy
    with its interval. Interval cells are ``{"value", "low", "high", ...}`` dicts.
    """
    preset = run.preset
    stages = [s for s in EVAL_COLUMNS if s in run.results]
    logs = {EVAL_COLUMNS[s]: _logs(run, s, preset.headline_sets) for s in stages}
    rows = []

    def add(metric, get):
        rows.append({"metric": metric, **{column: get(log) for column, log in logs.items()}})

    add("format compliance", lambda log: float(judge_quality(log)["format_compliance"]))
    add("accuracy", lambda log: accuracy_interval(log, preset).to_dict())
    add("position consistency", lambda log: float(judge_quality(log).get("position_consistency", float("nan"))))
    add("verdicts naming A", lambda log: float(judge_quality(log)["verdict_a_rate"]))
    add("judgements", lambda log: len(log))
    for name in preset.eval_sets:
        set_logs = {EVAL_COLUMNS[s]: _logs(run, s, [name]) for s in stages}
        rows.append({"metric": f"accuracy: {name}", **{c: accuracy_interval(g, preset).to_dict() for c, g in set_logs.items()}})
    return rows


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

    from rmr1_utils.plots import plot_held_out_curve, plot_intervals, plot_training_curves

    plots = run.dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    interval_rows = [r for r in rows if r["metric"].startswith("accuracy")]
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
    from rmr1_utils.stage import non_negative_int, stage_parser

    parser = stage_parser(
        subparsers, "pipeline", "The whole recipe end to end: data → baseline eval → distillation → GRPO → final eval."
    )
    parser.add_argument("--preset", default="cpu", help="a bundled preset (cpu, cpu-long, smoke) or a YAML path")
    parser.add_argument("--out", help="run folder (default runs/pipeline-<preset>); an existing one is resumed")
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
    from rmr1_utils.stage import parse_stage_args

    args = parse_stage_args(args, make_parser)
    preset, path = load_preset(args.preset, args.settings)
    if args.model:
        preset.model = args.model
    if args.seed is not None:
        preset.seed = args.seed
    check_stage_overrides(preset)
    out = Path(args.out or f"runs/pipeline-{path.stem}")
    report = run_pipeline(preset, out, force=args.force, quiet=args.quiet, name=args.preset)
    print(f"\nrmr1 pipeline ({path.stem}, {preset.model}): {report['seconds']:.0f} s\n")
    print(format_markdown(report))
    print(f"run folder: {out} (report.md, report.json, plots/: {', '.join(Path(p).name for p in report['plots'])})")
    return report
