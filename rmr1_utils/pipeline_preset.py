"""A pipeline preset (``recipes/pipeline/<name>.yaml``, ``--set`` overrides) and the state of one run.

:mod:`rmr1_utils.pipeline` runs the stages, :mod:`rmr1_utils.pipeline_report` writes the report;
both read the preset and the :class:`Run` defined here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rmr1_utils.config_files import build_dataclass, read_yaml_mapping, recipe_path
from rmr1_utils.errors import DataError
from rmr1_utils.resources import resolve_data_path

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


#: Preset fields that are mappings of stage-config fields (``--set distill_overrides.max_steps=8``).
MAPPING_FIELDS = ("distill_overrides", "grpo_overrides", "eval_sets")


def _overrides(values: dict) -> list[str]:
    args = []
    for key, value in values.items():
        args += [f"--{key}", json.dumps(value) if isinstance(value, (list, dict)) else str(value)]
    return args


@dataclass
class Run:
    """One pipeline run: its preset, folder, the training stages' parsed configs, and what the finished stages returned."""

    preset: PipelinePreset
    dir: Path
    quiet: bool = False
    results: dict[str, dict] = field(default_factory=dict)
    preset_name: str = "custom"
    #: The training stages' parsed configs (:func:`rmr1_utils.pipeline.parse_stage_configs`).
    configs: dict[str, tuple] = field(default_factory=dict)
    #: Each training stage's equivalent command-line arguments (recorded on its model card).
    argvs: dict[str, list] = field(default_factory=dict)

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"\n== rmr1 pipeline: {text}", flush=True)

    def eval_path(self, name: str) -> Path:
        path = self.preset.eval_sets[name]
        if path.startswith(DATA_PREFIX):
            return self.dir / "data" / path.removeprefix(DATA_PREFIX)
        return resolve_data_path(path)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
