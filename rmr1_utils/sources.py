"""The sources of a data recipe and their raw records: local files, Hub datasets, seeded generators.

A source (:class:`SourceConfig`, one entry of a recipe's ``sources``) yields raw records in a
reproducible order — shuffled with the same permutation ``datasets.Dataset.shuffle(seed=...)``
applies, then capped — and names where each came from, so that ``rmr1 prepare``
(:mod:`rmr1_utils.prepare`) can convert, validate and count them with errors naming the file and
the record. A JSONL line that does not parse is carried along (:class:`BadLine`) so that
``on_error: skip`` counts it instead of stopping.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmr1_utils.converters import CONVERTERS
from rmr1_utils.curriculum import FAMILIES, PARTS, curriculum_pairs
from rmr1_utils.data import data_suffix, iter_jsonl, read_json, read_parquet
from rmr1_utils.errors import DataError
from rmr1_utils.hub import load_hub_dataset
from rmr1_utils.synthetic import FAMILIES as MATH_FAMILIES
from rmr1_utils.synthetic import generate_math_pairs

GENERATORS = ("math", "curriculum")


@dataclass
class SourceConfig:
    """One source of a data recipe.

    Attributes:
        name: the source name recorded on every pair (Skywork items get ``name/<their source>``).
        format: raw format (``skywork``, ``code-preference``, ``math-step-dpo``, ``generic``,
            ``hh-rlhf``, ``pairs``, ``rmr1``) or ``auto`` to detect it from the first record.
        path: local JSONL / JSON / parquet file (relative paths: from the recipe's folder, then the current one).
        hub: Hub dataset name (loaded with ``datasets.load_dataset``; needs network).
        config: Hub dataset configuration name.
        split: Hub split.
        generator: ``math`` for the seeded synthetic word problems, ``curriculum`` for the judging
            curriculum (:mod:`rmr1_utils.curriculum`); then ``n`` and ``seed``.
        n: number of generated pairs.
        seed: generator seed.
        families: generator families to draw from (default: all of the generator's).
        part: curriculum only: ``train``, ``test`` (disjoint key buckets, so a held-out item never
            repeats a training question or fact) or ``all`` (for families that are only held out).
        to_split: put every pair of this source in this split (``train``, ``test`` or a new name
            such as ``test_families``) instead of the recipe's seeded train/test split.
        domain: override the domain of every pair from this source.
        max_pairs: keep at most this many raw records (after the shuffle, if any).
        shuffle_seed: shuffle raw records with this seed first (same permutation as
            ``datasets.Dataset.shuffle(seed=...)``).
    """

    name: str
    format: str = "auto"
    path: str | None = None
    hub: str | None = None
    config: str | None = None
    split: str = "train"
    generator: str | None = None
    n: int | None = None
    seed: int = 0
    families: list[str] | None = None
    part: str = "train"
    to_split: str | None = None
    domain: str | None = None
    max_pairs: int | None = None
    shuffle_seed: int | None = None

    def __post_init__(self) -> None:
        given = [k for k in ("path", "hub", "generator") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(f"source {self.name!r}: give exactly one of path, hub or generator (got {given or 'none'})")
        if self.format != "auto" and self.format not in CONVERTERS:
            raise ValueError(
                f"source {self.name!r}: unknown format {self.format!r} (expected auto or one of {', '.join(CONVERTERS)})"
            )
        if self.generator and self.generator not in GENERATORS:
            raise ValueError(f"source {self.name!r}: unknown generator {self.generator!r} (expected {', '.join(GENERATORS)})")
        if self.generator and not self.n:
            raise ValueError(f"source {self.name!r}: a generator needs n")
        for key in ("n", "max_pairs"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ValueError(f"source {self.name!r}: {key} must be >= 1, got {getattr(self, key)}")
        if self.families is not None and not self.generator:
            raise ValueError(f"source {self.name!r}: families apply to generators only")
        if self.part not in PARTS:
            raise ValueError(f"source {self.name!r}: unknown part {self.part!r} (expected {', '.join(PARTS)})")
        if self.families is not None:
            known = list(FAMILIES if self.generator == "curriculum" else MATH_FAMILIES)
            unknown = [f for f in self.families if f not in known]
            if unknown:
                raise ValueError(
                    f"source {self.name!r}: unknown {self.generator} families {unknown} (expected some of {', '.join(known)})"
                )
        if self.to_split is not None and (not isinstance(self.to_split, str) or not self.to_split.isidentifier()):
            raise ValueError(f"source {self.name!r}: to_split must be a split name (letters, digits, _), got {self.to_split!r}")


class BadLine:
    """A JSONL line that did not parse: carried to conversion so ``skip`` can count it."""

    def __init__(self, message: str):
        self.message = message


def resolve_source_path(path: str, base: Path | None) -> Path:
    """A source path: absolute, else relative to the recipe's folder, else to the current folder."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or base is None:
        return candidate
    return (base / candidate).resolve() if (base / candidate).exists() or not candidate.exists() else candidate


def _read_local(path: Path) -> list[Any]:
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a JSONL, JSON or parquet file")
    if path.suffix == ".parquet":
        return read_parquet(path)
    if data_suffix(path) == ".json":
        data = read_json(path)
        if isinstance(data, dict):  # {"data": [...]}-style files
            data = next((v for v in data.values() if isinstance(v, list)), None)
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of records")
        return data
    return [BadLine(f"line {lineno}: {error}") if error else record for lineno, record, error in iter_jsonl(path)]


def shuffled_indices(n: int, seed: int) -> list[int]:
    """The permutation ``datasets.Dataset.shuffle(seed=seed)`` applies, for local lists too."""
    import numpy as np

    return np.random.default_rng(seed).permutation(n).tolist()


def iter_source(source: SourceConfig, base: Path | None = None) -> tuple[str, Iterator[tuple[int, Any]]]:
    """Raw records of one source as ``(record index, record)``, after shuffle and cap.

    Returns:
        ``(where, iterator)``: ``where`` names the file or Hub dataset for error messages.
    """
    if source.generator == "math":
        pairs = generate_math_pairs(source.n, seed=source.seed, families=source.families)
        return f"generator:math(seed={source.seed})", iter(enumerate(pairs))
    if source.generator == "curriculum":
        pairs = curriculum_pairs(source.families or list(FAMILIES), source.n, seed=source.seed, part=source.part)
        return f"generator:curriculum(seed={source.seed}, part={source.part})", iter(enumerate(pairs))
    if source.hub:
        where = f"{source.hub}[{source.split}]"
        ds = load_hub_dataset(source.hub, source.config, source.split, where)
        if source.shuffle_seed is not None:
            ds = ds.shuffle(seed=source.shuffle_seed)
        if source.max_pairs is not None:
            ds = ds.select(range(min(source.max_pairs, len(ds))))
        return where, iter(enumerate(ds))
    path = resolve_source_path(source.path, base)
    records = _read_local(path)
    order = list(range(len(records)))
    if source.shuffle_seed is not None:
        order = shuffled_indices(len(records), source.shuffle_seed)
    if source.max_pairs is not None:
        order = order[: source.max_pairs]
    return str(path), ((i, records[i]) for i in order)
