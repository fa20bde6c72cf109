"""YAML files a user hands us — data recipes, training configs, pipeline presets — read one way.

One lookup (:func:`recipe_path`: a path, or a name bundled in ``recipes/<stage>/``, found from any
working directory: :mod:`rmr1_utils.resources`) and one strict
reader (:func:`read_yaml_mapping` + :func:`build_dataclass`): a syntax error names the file, line
and column; an unknown key, or a value of the wrong type, names the file and the key. All of them
raise :class:`~rmr1_utils.errors.DataError`, which the CLI prints as one line (exit code 2).

TRL's own config reader turns YAML values into command-line strings and lets argparse reject them
("argument --seed: invalid int value: 'abc'", after the whole usage block, without the file);
:func:`check_trl_config` runs before it, so a training config fails the same way as every other
YAML file here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any

from rmr1_utils.errors import DataError
from rmr1_utils.resources import bundled_root

#: Bundled recipes: ``recipes/<stage>/<name>.yaml`` (stages: data, distill, grpo, pipeline), in the
#: checkout or the installed package.
RECIPES_ROOT = bundled_root() / "recipes"


def recipe_path(recipe: str | Path, stage: str) -> Path:
    """A recipe file: an existing path, or the name of a bundled recipe (``tiny-cpu``, ``cpu-long``…).

    Args:
        recipe: a YAML path or the name of a file in ``recipes/<stage>/``.
        stage: the recipes folder (``data``, ``distill``, ``grpo``, ``pipeline``).

    Returns:
        The recipe's path.

    Raises:
        DataError: a missing file, a folder, or an unknown name (the bundled names are listed).
    """
    path = Path(recipe)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a YAML {stage} recipe")
    if path.exists():
        return path
    folder = RECIPES_ROOT / stage
    bundled = folder / f"{recipe}.yaml"
    if path.suffix not in (".yaml", ".yml") and bundled.exists():
        return bundled
    names = ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))
    if path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        raise DataError(f"{path}: recipe file not found (bundled {stage} recipes: {names})")
    raise DataError(f"unknown recipe {str(recipe)!r}: give a YAML file or one of the bundled {stage} recipes: {names}")


def read_yaml_mapping(path: str | Path, what: str = "recipe") -> dict:
    """A YAML file that must hold a mapping (an empty file is ``{}``).

    Raises:
        DataError: unreadable (folder, binary, not UTF-8), invalid YAML (line and column named), or
            not a mapping.
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a YAML {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is tolerated, as editors write it
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise DataError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError(f"{path}: a {what} is a mapping of keys to values, got a {type(data).__name__}")
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        raise DataError(f"{path}: keys must be names, got {bad[0]!r}")
    return data


def _type_name(annotation: Any) -> str:
    if annotation is type(None):
        return "null"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        return {list: "a list", dict: "a mapping", tuple: "a list"}.get(origin, str(origin))
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(annotation, str(annotation))


def value_matches(value: Any, annotation: Any) -> bool:
    """Whether a YAML value fits a dataclass field's annotation (lists and mappings checked one level deep)."""
    if annotation is Any:
        return True
    if annotation is type(None):
        return value is None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(value_matches(value, a) for a in args)
    if origin in (list, tuple):
        return isinstance(value, list) and (not args or all(value_matches(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and (not args or all(value_matches(v, args[1]) for v in value.values()))
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def build_dataclass(cls: type, data: dict, where: str):
    """``cls(**data)`` after checking keys and value types; errors name ``where`` and the key.

    Args:
        cls: a dataclass.
        data: the YAML mapping.
        where: how the error names the place (``"recipes/data/x.yaml"``, ``"x.yaml: source 2"``).

    Raises:
        DataError: an unknown key, a value of the wrong type, or what the dataclass itself rejects.
    """
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for key, value in data.items():
        if not value_matches(value, hints.get(key, Any)):
            raise DataError(f"{where}: key {key!r}: expected {_type_name(hints[key])}, got {value!r}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as e:
        raise DataError(f"{where}: {e}") from None


def check_trl_config(path: str | Path, dataclass_types: tuple, stage: str) -> dict:
    """Check a training config before TRL parses it: syntax, unknown keys, obvious type errors.

    Types are checked against the scalar fields TRL would parse (``int``, ``float``, ``bool``,
    ``str`` and their optional forms); anything else is left to TRL.

    Args:
        path: the YAML config.
        dataclass_types: the stage's dataclasses (script arguments, trainer config, ``ModelConfig``).
        stage: the stage name, for the messages.

    Returns:
        The YAML mapping.

    Raises:
        DataError: naming the file and the key.
    """
    data = read_yaml_mapping(path, f"{stage} config")
    hints: dict[str, Any] = {}
    for cls in dataclass_types:
        try:
            resolved = typing.get_type_hints(cls)
        except Exception:  # a forward reference TRL's module does not resolve: leave those fields to TRL
            resolved = {}
        for f in dataclasses.fields(cls):
            hints.setdefault(f.name, resolved.get(f.name, Any))
    unknown = sorted(set(data) - set(hints) - {"env"})  # TRL's `env:` block sets environment variables
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(unknown)} for rmr1 {stage} (check the spelling)")
    for key, value in data.items():
        annotation = hints.get(key, Any)
        union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        scalars = {a for a in (typing.get_args(annotation) if union else (annotation,)) if a is not type(None)}
        if isinstance(value, (list, dict)) and scalars and scalars <= {str, int, float, bool}:
            raise DataError(f"{path}: key {key!r}: expected {_type_name(annotation)}, got {value!r}")
        if str in scalars and not isinstance(value, (list, dict)):
            continue  # TRL turns any scalar into the string it parses
        if scalars and scalars <= {int, float, bool} and value is not None and not value_matches(value, annotation):
            if not (float in scalars and isinstance(value, str) and _is_number(value)):  # YAML reads 1e-5 as a string
                raise DataError(f"{path}: key {key!r}: expected {_type_name(annotation)}, got {value!r}")
    check_training_ranges(data, lambda key: f"{path}: key {key!r}")
    return data


#: Ranges of the numeric training fields (both stages; TRL's, transformers' and ours), as
#: ``key: (lowest, lowest allowed, highest)``. TRL and transformers check few of these, and those
#: they check fail without naming the key ("GRPO requires at least 2 generations per prompt…") or
#: only deep in training (a zero batch size divides by zero), so they are checked here, where the
#: key and the file are known.
TRAINING_RANGES: dict[str, tuple[float, bool, float | None]] = {
    **dict.fromkeys(("num_generations",), (2, True, None)),
    **dict.fromkeys(
        (
            "per_device_train_batch_size",
            "per_device_eval_batch_size",
            "gradient_accumulation_steps",
            "num_iterations",
            "steps_per_generation",
            "generation_batch_size",
            "max_completion_length",
            "max_prompt_length",
            "max_length",
            "prefix_refresh_steps",
            "max_train_samples",
            "reasrm_max_new_tokens",
            "lora_r",
        ),
        (1, True, None),
    ),  # fmt: skip
    **dict.fromkeys(("max_steps",), (-1, True, None)),  # -1: train for num_train_epochs
    **dict.fromkeys(("num_train_epochs", "logging_steps", "save_steps", "eval_steps", "temperature"), (0, False, None)),
    **dict.fromkeys(
        (
            "learning_rate",
            "weight_decay",
            "max_grad_norm",
            "beta",
            "epsilon",
            "epsilon_high",
            "warmup_steps",
            "seed",
            "data_seed",
            "dataloader_num_workers",
            "min_shared_prefix",
            "freeze_layers_below",
            "side_token_weight",
            "reasrm_judge_retries",
            "save_total_limit",
            "top_k",
            "lora_alpha",
        ),
        (0, True, None),
    ),  # fmt: skip
    **dict.fromkeys(("top_p", "vllm_gpu_memory_utilization"), (0, False, 1)),
    **dict.fromkeys(("warmup_ratio", "min_p", "lora_dropout"), (0, True, 1)),
    **dict.fromkeys(("reasrm_judge_timeout",), (0, False, None)),
    **dict.fromkeys(("quote_faithfulness_weight",), (0, True, None)),
}


def _range_text(low: float, inclusive: bool, high: float | None) -> str:
    if high is not None:
        return f"{'>=' if inclusive else '>'} {low:g} and <= {high:g}"
    return f"{'>=' if inclusive else '>'} {low:g}"


def check_training_ranges(values: dict[str, Any], where: typing.Callable[[str], str]) -> None:
    """Refuse a numeric training field outside :data:`TRAINING_RANGES`, naming the key.

    Args:
        values: key → value as written (YAML values, or command-line strings); keys without a
            range, nulls, booleans and text that is not a number are left to the type checks.
        where: key → how the message names it (``"g.yaml: key 'num_generations'"``, ``"--seed"``).

    Raises:
        DataError: ``"<where>: must be >= 2, got -2"``.
    """
    for key, value in values.items():
        if key not in TRAINING_RANGES or value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        low, inclusive, high = TRAINING_RANGES[key]
        if number != number or number < low or (number == low and not inclusive) or (high is not None and number > high):
            raise DataError(f"{where(key)}: must be {_range_text(low, inclusive, high)}, got {value}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
