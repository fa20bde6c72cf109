"""Reading benchmark inputs: records from local files, folders or the Hub, checked fields, comparisons.

The pieces every benchmark loader shares (:mod:`rmr1_utils.benchmarks` for RewardBench, RM-Bench,
RMB, JudgeBench, HelpSteer3 and our own pairs; :mod:`rmr1_utils.rewardbench2` for RewardBench 2):
each record comes with *where* it is (``FILE: line N``, 1-based) so that a bad field is reported in
one line naming the file and the record, and each judged comparison is shown in a seeded order that
does not change across restarts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.data import data_suffix, iter_jsonl, read_json, read_parquet
from rmr1_utils.errors import DataError
from rmr1_utils.hub import load_hub_dataset

#: RM-Bench's own domain names: the records' ``domain`` and the official files ``<domain>_filtered.json``.
RMBENCH_FILE_DOMAINS = ("chat", "code", "math", "safety-refuse", "safety-response")


#: Default Hub split per benchmark (``NAME@SPLIT`` overrides): RewardBench's core set is ``filtered``;
#: JudgeBench ships one split per response model (``gpt``: GPT-4o responses, ``claude``); HelpSteer3's
#: default configuration is ``preference`` (its card), whose held-out split is ``validation``.
HUB_DEFAULT_SPLITS = {"rewardbench": "filtered", "judgebench": "gpt", "rmbench": "train", "helpsteer3": "validation",
                      "pairs": "train", "rewardbench2": "test"}  # fmt: skip


def _kind(value) -> str:
    """The JSON name of a value's type, for error messages (``a string``, ``an array of 2``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


#: The local file formats of a benchmark input (each also as ``.gz``, except parquet).
FILE_FORMATS = (".jsonl", ".json", ".parquet")


def _file_rows(path: Path) -> list[tuple[str, object, Path]]:
    """``(where, record, file)`` for every record of one local file; ``where`` is ``FILE: line N`` or ``FILE: record N``."""
    kind = data_suffix(path)
    if kind not in FILE_FORMATS or (kind == ".parquet" and path.suffix == ".gz"):
        raise DataError(
            f"{path}: expected a .jsonl, .json or .parquet file (.jsonl.gz and .json.gz too), "
            "or a Hub dataset name (NAME or NAME@SPLIT)"
        )
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if kind == ".jsonl":
        rows = []
        for lineno, record, error in iter_jsonl(path):
            if error:
                raise DataError(f"{path}: line {lineno}: {error}")
            rows.append((f"{path}: line {lineno}", record, path))
        return rows
    if kind == ".json":
        records = read_json(path)
        if not isinstance(records, list):
            raise DataError(f"{path}: expected a JSON array of records, got {_kind(records)}")
        return [(f"{path}: record {k}", r, path) for k, r in enumerate(records, 1)]
    records = read_parquet(path)
    return [(f"{path}: record {k}", r, path) for k, r in enumerate(records, 1)]


def _folder_files(folder: Path, benchmark: str) -> list[Path]:
    """The benchmark files of a folder: RM-Bench's per-domain files, or every ``.json`` of an RMB tree."""
    if benchmark == "rmbench":
        files = [f for d in RMBENCH_FILE_DOMAINS for f in (folder / f"{d}_filtered.json", folder / f"{d}_filtered.json.gz")
                 if f.is_file()]  # fmt: skip
        if not files:
            names = ", ".join(f"{d}_filtered.json" for d in RMBENCH_FILE_DOMAINS)
            raise DataError(f"{folder}: a folder without RM-Bench's per-domain files ({names}); pass a file instead")
        return files
    if benchmark in ("rmb-pairwise", "rmb-bon"):
        below = folder / ("Pairwise_set" if benchmark == "rmb-pairwise" else "BoN_set")
        root = below if below.is_dir() else folder
        found = [*root.rglob("*.json"), *root.rglob("*.json.gz")]
        files = sorted(found, key=lambda f: f.relative_to(root).as_posix())
        if not files:
            raise DataError(f"{folder}: a folder without .json (or .json.gz) files")
        return files
    raise DataError(f"{folder}: is a folder; expected a .jsonl, .json or .parquet file")


def _rows(path: str | Path, benchmark: str = "pairs") -> list[tuple[str, object, Path | None]]:
    """Every record of a benchmark input as ``(where, record, file)``, numbered from 1.

    Args:
        path: a local ``.jsonl``/``.json``/``.parquet`` file (``.jsonl.gz``, ``.json.gz``: read
            as their contents); a folder (RM-Bench's per-domain
            ``*_filtered.json`` files, or an RMB ``Pairwise_set``/``BoN_set`` tree); or a Hub
            dataset (``NAME`` or ``NAME@SPLIT``).
        benchmark: which benchmark (picks the folder layout and the default Hub split).

    Returns:
        ``(where, record, file)``: ``where`` names the file and the 1-based line (JSONL) or
        record (JSON array, parquet, Hub); ``file`` is the local file (None for the Hub).

    Raises:
        DataError: a missing, unreadable or malformed input.
    """
    p = Path(path)
    if p.is_dir():
        return [row for f in _folder_files(p, benchmark) for row in _file_rows(f)]
    if data_suffix(p) in FILE_FORMATS or p.exists() or "/" not in str(path):
        return _file_rows(p)
    name, _, split = str(path).partition("@")
    split = split or HUB_DEFAULT_SPLITS.get(benchmark, "train")
    records = load_hub_dataset(name, None, split, f"{name}[{split}]")
    return [(f"{name}[{split}]: record {k}", r, None) for k, r in enumerate(records, 1)]


def _need(record: dict, keys: Sequence[str], where: str) -> None:
    missing = [k for k in keys if k not in record]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(missing)}")


def _string(record: dict, key: str, where: str) -> str:
    if not isinstance(record[key], str):
        raise DataError(f"{where}: {key!r} must be a string, got {_kind(record[key])}")
    return record[key]


def _item_id(record: dict, key: str, where: str) -> str | int:
    value = record[key]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DataError(f"{where}: {key!r} must be a string or an integer, got {_kind(value)}")
    return value


def _comparison(key, item_id, benchmark, better, worse, prompt=None, context=None, **meta) -> dict:
    # pair_to_judge_task renders a one-user-message context as a single-turn question.
    pair = {"id": key, "chosen": better, "rejected": worse, **({"prompt": prompt} if context is None else {"context": context})}
    return {"key": key, "id": item_id, "benchmark": benchmark, "pair": pair, **meta}


def check_limit(limit) -> None:
    """``--limit``: None (everything) or a whole number ≥ 1.

    Raises:
        DataError: zero, a negative number, or not a whole number.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"--limit must be a whole number of items, at least 1 (got {limit!r})")


def benchmark_rows(path: str | Path, benchmark: str, limit: int | None = None) -> list[tuple[str, object, Path | None]]:
    """A benchmark file's records, the first ``limit`` of them, each with where it is (for errors).

    Raises:
        DataError: a bad ``limit``, an unreadable file, or a file without records.
    """
    check_limit(limit)
    rows = _rows(path, benchmark)
    if not rows:
        raise DataError(f"{path}: no records (an empty benchmark file)")
    return rows[:limit] if limit else rows


def shown_position(comparison: dict, seed: int) -> str:
    """Where the better response is shown: the benchmark's fixed order, else a seeded coin per key.

    Seeding per key (not per run) keeps every comparison's order the same across restarts.
    """
    if comparison.get("fixed_position"):
        return comparison["fixed_position"]
    return "A" if random.Random(f"{seed}:{comparison['key']}").random() < 0.5 else "B"


#: Added to a comparison's key for its second, swapped order (:func:`in_both_orders`).
SWAPPED_SUFFIX = "-swapped"


def in_both_orders(comparisons: Sequence[dict], seed: int) -> list[dict]:
    """Each comparison shown both ways: its seeded order (``order`` 0), then swapped (``order`` 1).

    Comparisons whose benchmark fixes the order (JudgeBench already has both) are kept as they are.
    :func:`~rmr1_utils.scoring.judge_quality` then reports ``position_consistency``.
    """
    out = []
    for c in comparisons:
        if c.get("fixed_position"):
            out.append(c)
            continue
        first = shown_position(c, seed)
        out.append({**c, "order": 0, "fixed_position": first})
        out.append({**c, "key": c["key"] + SWAPPED_SUFFIX, "order": 1, "fixed_position": "B" if first == "A" else "A"})
    return out
