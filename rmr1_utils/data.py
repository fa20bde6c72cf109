"""Preference pairs → judge tasks.

A **preference pair** is a plain record::

    {"id": "...", "source": "...", "domain": "chat|safety|math|code",
     "prompt": "question"            # single turn, or
     "context": [messages...],       # multi-turn context ending with a user turn
     "chosen": "better response", "rejected": "worse response"}

A **judge task** is what the ReasRM reads and is trained on::

    {"id", "source", "domain", "messages": [...RM-R1 prompt...], "winner": "model_a|model_b"}

How we differ from the paper: RM-R1 alternates the chosen side with one running counter across
the whole mix, and its multi-turn renderer leaks the label ("Chabot B"). Here
:func:`assign_positions` balances A/B *within every (source, domain) group* from a seed, and
:func:`pair_to_judge_task` renders both sides with one function, so the two orders of a pair are
exact swaps of each other.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from rmr1_utils.converters import DOMAINS, RecordError, convert_pairs, convert_rmr1_released
from rmr1_utils.errors import DataError
from rmr1_utils.formats import build_judge_messages

__all__ = [
    "DOMAINS",
    "POSITIONS",
    "assign_positions",
    "check_unique_ids",
    "data_suffix",
    "iter_jsonl",
    "judge_tasks_file",
    "load_judge_tasks",
    "load_pairs",
    "pair_to_judge_task",
    "read_json",
    "read_json_list",
    "read_jsonl",
    "task_to_released",
    "write_jsonl",
]

POSITIONS = ("A", "B")


def data_suffix(path: str | Path) -> str:
    """A data file's format, compression aside: ``.jsonl`` for ``x.jsonl`` and for ``x.jsonl.gz``.

    The benchmarks ship compressed files (HelpSteer3's ``preference/validation.jsonl.gz``); every
    reader here opens them through :func:`open_text`, so a ``.gz`` file reads as its contents.
    """
    path = Path(path)
    return Path(path.stem).suffix if path.suffix == ".gz" else path.suffix


def open_text(path: str | Path) -> TextIO:
    """A local file as UTF-8 text, gunzipped when its name ends in ``.gz``; a byte-order mark is skipped."""
    if Path(path).suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


#: What reading a damaged ``.gz`` file raises: not gzip data, corrupt data, cut short.
_GZIP_ERRORS = (gzip.BadGzipFile, zlib.error, EOFError)


def _gzip_problem(error: Exception) -> str:
    if isinstance(error, EOFError):
        return "the gzip file is cut short (an incomplete download?)"
    return f"not readable as gzip data ({error})"


def _check_file(path: Path, what: str) -> None:
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a {what} file")
    if not path.exists():
        raise DataError(f"{path}: file not found")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict | list | str | int | float | None, str | None]]:
    """Lines of a JSONL file (or a ``.jsonl.gz``) as ``(line number, value, error)``; blank lines are skipped.

    A line that is not valid JSON yields ``(lineno, None, "invalid JSON (…)")`` instead of
    raising, so callers can either stop (``read_jsonl``) or count and skip (``rmr1 prepare``). A
    byte-order mark at the start is ignored; text with a lone surrogate (``"\\ud800"``, which no
    tokenizer or UTF-8 file can hold) is a bad line like invalid JSON.

    Raises:
        DataError: the file does not exist, is a folder, is not UTF-8 text, or is a ``.gz`` file
            that is not gzip data or is cut short (the first bad line named).
    """
    path = Path(path)
    _check_file(path, "JSONL")
    with open_text(path) as f:
        lineno = 0
        try:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as e:
                    yield lineno, None, f"invalid JSON ({e.msg})"
                    continue
                try:
                    json.dumps(value, ensure_ascii=False).encode("utf-8")
                except UnicodeEncodeError:
                    yield lineno, None, "text with a lone surrogate (invalid Unicode)"
                    continue
                yield lineno, value, None
        except UnicodeDecodeError:
            raise DataError(f"{path}: line {lineno + 1}: not UTF-8 text") from None
        except _GZIP_ERRORS as e:
            raise DataError(f"{path}: line {lineno + 1}: {_gzip_problem(e)}") from None


def read_json(path: str | Path):
    """The JSON value of a ``.json`` file (or a gzip-compressed ``.json.gz``).

    Raises:
        DataError: the file is missing, a folder, not UTF-8 text, not valid JSON, or bad gzip data.
    """
    path = Path(path)
    _check_file(path, "JSON")
    try:
        with open_text(path) as f:
            return json.loads(f.read())
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: invalid JSON ({e.msg} at line {e.lineno})") from None
    except _GZIP_ERRORS as e:
        raise DataError(f"{path}: {_gzip_problem(e)}") from None


def read_parquet(path: str | Path) -> list[dict]:
    """The records of a ``.parquet`` file, read with pyarrow directly (no copy in the datasets cache).

    Raises:
        DataError: the file is missing, a folder, or not readable as parquet (one line naming it).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    _check_file(path, "parquet")
    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as e:
        detail = " ".join(str(e).split())[:200]
        raise DataError(f"{path}: not a readable parquet file ({detail})") from None


def read_jsonl(path: str | Path) -> list[dict]:
    """Read a JSONL file; a malformed line raises one clear error naming file and line.

    Args:
        path: the file.

    Returns:
        The records (blank lines skipped).

    Raises:
        DataError: missing file, invalid JSON, or a line that is not a JSON object.
    """
    records = []
    for lineno, record, error in iter_jsonl(path):
        if error:
            raise DataError(f"{path}: line {lineno}: {error}")
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {lineno}: expected a JSON object, got {type(record).__name__}")
        records.append(record)
    return records


def write_jsonl(path: str | Path, records: Iterable[dict]) -> Path:
    """Write records as JSONL (UTF-8, one object per line), creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def check_unique_ids(records: Iterable[tuple[str | None, int, Hashable]], noun: str = "record") -> None:
    """Stop at the first id that repeats, naming both records (and their files).

    Args:
        records: ``(file or None, 1-based record number, id)`` in input order; ``None`` when the
            records came from no file (a list handed to a library function).
        noun: what a record is called in the message (``record``, ``pair``, ``task``).

    Raises:
        DataError: ``"<file>: record 3: id 'x' repeats record 1; ids must be unique"`` (the first
            record's file is named too when it is another file).
    """
    seen: dict[Hashable, tuple[str | None, int]] = {}
    for file, number, item_id in records:
        if item_id in seen:
            first_file, first_number = seen[item_id]
            first = f"{noun} {first_number}" if first_file == file else f"{first_file}: {noun} {first_number}"
            where = f"{file}: {noun} {number}" if file is not None else f"{noun} {number}"
            raise DataError(f"{where}: id {item_id!r} repeats {first}; ids must be unique")
        seen[item_id] = (file, number)


def load_pairs(path: str | Path, limit: int | None = None) -> list[dict]:
    """Load and validate our own preference-pair records from a JSONL file.

    Args:
        path: the JSONL file.
        limit: keep only the first ``limit`` pairs.

    Returns:
        The pairs, each with ``source`` and ``domain`` defaulted (``"local"``, ``"chat"``).

    Raises:
        DataError: the first bad record, or a repeated id, named by file and record index.
    """
    records = read_jsonl(path)
    pairs = []
    for index, record in enumerate(records[:limit] if limit else records, 1):
        try:
            pairs.append(convert_pairs(record))
        except RecordError as e:
            raise DataError(f"{path}: record {index}: {e}") from None
    check_unique_ids((str(path), index, pair["id"]) for index, pair in enumerate(pairs, 1))
    return pairs


def assign_positions(pairs: Sequence[dict], seed: int = 0) -> list[str]:
    """Where to show each pair's chosen response, ``"A"`` or ``"B"``: balanced per source *and* per domain.

    Balancing both groupings at once is a graph problem: every pair is an edge between its source
    and its domain (a bipartite multigraph), and we want to 2-colour the edges so that every node
    has as many A as B edges, to within one. We pair up odd-degree nodes through two dummy nodes
    (one per side, so the graph stays bipartite and every degree becomes even), walk an Euler
    circuit of each component and colour its edges alternately. A circuit of a bipartite graph has
    even length, so each visit of a node enters on one colour and leaves on the other; removing the
    dummy edges costs each node at most one. The seed shuffles the walk order and the first colour
    of every circuit, so placement is random but reproducible, and never follows file order.

    Args:
        pairs: preference pairs (their ``source`` and ``domain`` are used).
        seed: the seed.

    Returns:
        One position per pair, in input order.
    """
    rng = random.Random(seed)
    src_dummy, dom_dummy = ("source", None), ("domain", None)
    ends: list[tuple[tuple, tuple]] = [(("source", p.get("source")), ("domain", p.get("domain"))) for p in pairs]
    degree: dict[tuple, int] = defaultdict(int)
    for u, v in ends:
        degree[u] += 1
        degree[v] += 1
    odd_sources = sorted((n for n, d in degree.items() if n[0] == "source" and d % 2), key=str)
    odd_domains = sorted((n for n, d in degree.items() if n[0] == "domain" and d % 2), key=str)
    # Both counts have the parity of the number of pairs, so one extra dummy edge evens both dummies.
    dummy_edges = [(src_dummy, n) for n in odd_domains] + [(n, dom_dummy) for n in odd_sources]
    if len(odd_sources) % 2:
        dummy_edges.append((src_dummy, dom_dummy))
    all_edges = ends + dummy_edges
    incident: dict[tuple, list[int]] = defaultdict(list)
    for e, (u, v) in enumerate(all_edges):
        incident[u].append(e)
        incident[v].append(e)
    for edges in incident.values():
        rng.shuffle(edges)
    used = [False] * len(all_edges)
    colour = [0] * len(all_edges)
    cursor: dict[tuple, int] = defaultdict(int)
    for start in sorted(incident, key=str):
        # Hierholzer's algorithm, iterative: the edges popped off the stack form an Euler circuit.
        stack: list[tuple[tuple, int | None]] = [(start, None)]
        circuit: list[int] = []
        while stack:
            node, via = stack[-1]
            edges = incident[node]
            while cursor[node] < len(edges) and used[edges[cursor[node]]]:
                cursor[node] += 1
            if cursor[node] == len(edges):
                stack.pop()
                if via is not None:
                    circuit.append(via)
            else:
                e = edges[cursor[node]]
                used[e] = True
                u, v = all_edges[e]
                stack.append((v if node == u else u, e))
        first = rng.randrange(2)
        for k, e in enumerate(circuit):
            colour[e] = (first + k) % 2
    return [POSITIONS[colour[i]] for i in range(len(pairs))]


def pair_to_judge_task(pair: dict, chosen_position: str, style: str = "instruct") -> dict:
    """Render one preference pair as a judge task with the chosen response at ``chosen_position``.

    Single-turn pairs (a ``prompt``, or a context of exactly one user message) use the
    question/answer template; others render both whole conversations.

    Args:
        pair: a preference pair.
        chosen_position: ``"A"`` or ``"B"``.
        style: ``"instruct"`` or ``"reasoning"``.

    Returns:
        ``{"id", "source", "domain", "messages", "winner"}``, plus the pair's ``verifiable`` when it has one.
    """
    if chosen_position not in POSITIONS:
        raise ValueError(f"chosen_position must be 'A' or 'B', got {chosen_position!r}")
    first, second = (pair["chosen"], pair["rejected"]) if chosen_position == "A" else (pair["rejected"], pair["chosen"])
    context = pair.get("context")
    if context is None or (len(context) == 1 and context[0]["role"] == "user"):
        question = pair["prompt"] if context is None else context[0]["content"]
        messages = build_judge_messages(question=question, answer_a=first, answer_b=second, style=style)
    else:
        messages = build_judge_messages(
            conversation_a=[*context, {"role": "assistant", "content": first}],
            conversation_b=[*context, {"role": "assistant", "content": second}],
            style=style,
        )
    task = {
        "id": pair["id"],
        "source": pair.get("source", "local"),
        "domain": pair.get("domain", "chat"),
        "messages": messages,
        "winner": "model_a" if chosen_position == "A" else "model_b",
    }
    if pair.get("verifiable"):
        task["verifiable"] = pair["verifiable"]  # what the rule teacher needs (see rmr1_utils.rule_teacher)
    return task


def read_json_list(path: str | Path) -> list:
    """Read a ``.json`` (or ``.json.gz``) file whose top level is a list of records.

    Raises:
        DataError: the file is missing or unreadable (:func:`read_json`), or its top level is not a list.
    """
    records = read_json(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a JSON list of records")
    return records


def judge_tasks_file(path: str | Path, split: str = "train") -> Path:
    """The file :func:`load_judge_tasks` reads: ``path`` itself, or ``path/{split}.jsonl`` for a folder.

    Raises:
        DataError: a folder without that split.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / f"{split}.jsonl").exists():
            raise DataError(f"{path}: no {split}.jsonl in this folder (expected `rmr1 prepare` or `rmr1 distill-data` output)")
        path = path / f"{split}.jsonl"
    return path


def load_judge_tasks(path: str | Path, split: str = "train", limit: int | None = None) -> list[dict]:
    """Load rendered judge tasks, with their traces when the file has them.

    Reads what ``rmr1 prepare`` writes (a folder with ``{split}.jsonl``, or one such JSONL
    file), ``rmr1 distill-data`` output, and the RM-R1 released SFT format (``context_messages``
    ending with the user prompt, or with the assistant trace, plus ``winner``).

    Args:
        path: a JSONL/JSON file, or a folder holding ``{split}.jsonl``.
        split: which split to read from a folder.
        limit: keep only the first ``limit`` tasks.

    Returns:
        Tasks ``{"id", "source", "domain", "messages", "winner"}`` plus ``"trace"`` when present.

    Raises:
        DataError: a missing file or a bad record (file and record index named).
    """
    return [task for _, task in load_judge_task_records(path, split, limit)]


def load_judge_task_records(path: str | Path, split: str = "train", limit: int | None = None) -> list[tuple[dict, dict]]:
    """:func:`load_judge_tasks`, each task beside the record it was read from (one read of the file).

    For a caller that selects tasks and writes the selected records back unchanged.

    Returns:
        ``[(record, task), ...]`` in file order.
    """
    path = judge_tasks_file(path, split)
    records = read_json_list(path) if data_suffix(path) == ".json" else read_jsonl(path)
    pairs = []
    for index, record in enumerate(records[:limit] if limit else records, 1):
        if not isinstance(record, dict):
            raise DataError(f"{path}: record {index}: expected a JSON object")
        try:
            pairs.append((record, convert_rmr1_released(record, source=record.get("source") or "rmr1")))
        except RecordError as e:
            raise DataError(f"{path}: record {index}: {e}") from None
    return pairs


def task_to_released(task: dict, trace: str | None = None) -> dict:
    """A judge task (and optionally its trace) in the RM-R1 released SFT format.

    Args:
        task: ``{"id", "source", "domain", "messages", "winner"}``.
        trace: the assistant's chain-of-rubrics trace, appended as the last message.

    Returns:
        ``{"id", "source", "domain", "context_messages", "winner"}`` (and ``verifiable`` when the task has it).
    """
    messages = list(task["messages"])
    if trace is not None:
        messages.append({"role": "assistant", "content": trace})
    released = {
        "id": task["id"],
        "source": task["source"],
        "domain": task["domain"],
        "context_messages": messages,
        "winner": task["winner"],
    }
    if task.get("verifiable"):
        released["verifiable"] = task["verifiable"]
    return released
