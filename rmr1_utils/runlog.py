"""The one judging core: comparisons → judged records through any backend, appended chunk by chunk
to an append-only log that knows which run it belongs to.

Every stage that asks a model for text it may not get back cheaply — ``rmr1 judge``, ``rmr1
evaluate``, ``rmr1 best-of-n`` (its judgements and its picks) and ``rmr1 distill-data`` — writes
through :class:`RunLog` and, where it generates, through :func:`generate_into_log`:

* **append-only, fsync'd JSONL**: each chunk is written, flushed and fsync'd before the next one
  starts, so a kill at any moment loses at most the chunk in flight. A last line torn by the kill is
  dropped (and cut from the file) when the log is reopened; a bad line anywhere else is an error.
* **the run's identity on the first line** (``{"rmr1_run": {...}}``): model, backend, sampling,
  verdict rule, benchmark, input fingerprint — whatever decides what the lines say. Reopening a log
  with a different identity stops with one line naming the differences, instead of resuming one run
  with another's results; ``restart=True`` (``--restart`` on the command line) moves the old log
  aside (``log.jsonl.old-1``, ``-2``, …) and starts afresh.
* **unique keys**: every line has a ``key``; appending a key the log already holds is a bug and
  raises, so a resumed run can never count a judgement twice or skip one it never made.

How we differ from the usual "skip ids already in the output" resume (RM-R1's scripts, most eval
harnesses): those trust the ids blindly, so two runs with different models or settings in one
folder silently mix, and two items with the same id in one input lose one of them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.models import resolve_model_path

#: Key of the identity header (the first line of every run log).
IDENTITY_KEY = "rmr1_run"


class RunMismatchError(RMR1Error):
    """A log that belongs to another run (its identity differs from this run's)."""


def file_fingerprint(path: str | Path) -> str:
    """``sha256:<hex>`` of a file's bytes, or of a folder's files (names and bytes, sorted).

    Args:
        path: a file or a folder.

    Returns:
        The fingerprint; ``"missing"`` when the path does not exist.
    """
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(child.relative_to(path)).encode("utf-8") + b"\0")
            _update_with_file(digest, child)
    elif path.is_file():
        _update_with_file(digest, path)
    else:
        return "missing"
    return "sha256:" + digest.hexdigest()


def _update_with_file(digest, path: Path) -> None:
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)


def model_identity(model: Any) -> str:
    """What names a model's weights in a run identity, without loading them.

    A name resolved to a local folder (``embedded``, a shipped judge, a training output) is
    identified by its folder and a fingerprint of the weight files' names, sizes and modification
    times (hashing gigabytes on every resume would cost more than it protects); a Hub id or a
    served model name by itself; a loaded ``(model, tokenizer)`` pair by ``name_or_path``.

    Args:
        model: a model name/path, a loaded ``(model, tokenizer)`` pair, or a backend.

    Returns:
        A string that changes when the weights do.
    """
    if callable(getattr(model, "identity", None)):  # a generation backend
        return model.identity()
    if isinstance(model, tuple):
        model = getattr(model[0], "name_or_path", None) or type(model[0]).__name__
    text = str(model)
    folder = Path(text)
    if not folder.is_dir():
        try:
            folder = Path(resolve_model_path(text))
        except Exception:  # a Hub id or a served name: the name is all there is
            return text
    if not folder.is_dir():
        return text
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".pt"))
    stamp = hashlib.sha256(
        "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns};" for p in weights).encode("utf-8")
    ).hexdigest()[:16]
    return f"{text} ({folder.resolve()}, weights {stamp})"


def _canonical(value: Any) -> Any:
    """JSON-safe, order-independent form of an identity (tuples → lists)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


class RunLog:
    """An append-only, fsync'd JSONL log of one run, with the run's identity as its first line.

    Args:
        path: the log file (created with its parent folder); ``None`` keeps the log in memory only.
        identity: what decides the lines' content (JSON-serialisable); compared on reopen.
        restart: move an existing log aside (``<name>.old-<n>``) and start afresh.
        what: how the command line calls a restart, for the error message.

    Attributes:
        records: the log's lines (without the identity header), in order.
        keys: the set of their keys.
        moved_to: where ``restart`` moved the old log (``None`` when it did not).

    Raises:
        RunMismatchError: the log exists with another identity (and ``restart`` is off).
        DataError: a damaged line that is not the last one, or a line without a key.
    """

    def __init__(self, path: str | Path | None, identity: dict, restart: bool = False, what: str = "--restart"):
        self.path = Path(path) if path is not None else None
        self.identity = _canonical(identity)
        self.moved_to: Path | None = None
        self.keys: set = set()
        self.records: list[dict] = []
        if self.path is None:
            return
        if self.path.is_dir():
            raise DataError(f"{self.path}: is a folder, expected a log file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if restart and self.path.exists():
            self.moved_to = self._set_aside()
        header, self.records = _read(self.path)
        if header is None and self.records:
            raise RunMismatchError(
                f"{self.path}: a log without a run identity (written by an older rmr1); pass {what} to start afresh "
                "(the old log is kept) or choose another output"
            )
        if header is not None and header != self.identity:
            raise RunMismatchError(
                f"{self.path}: this log belongs to another run ({describe_difference(header, self.identity)}); "
                f"pass {what} to start afresh (the old log is kept) or choose another output"
            )
        for k, record in enumerate(self.records, 2):
            if "key" not in record:
                raise DataError(f"{self.path}: line {k}: a log line without a key")
            if record["key"] in self.keys:
                raise DataError(f"{self.path}: line {k}: key {record['key']!r} appears twice")
            self.keys.add(record["key"])
        if header is None:
            self._write([{IDENTITY_KEY: self.identity}])

    def _set_aside(self) -> Path:
        n = 1
        while (target := self.path.with_name(f"{self.path.name}.old-{n}")).exists():
            n += 1
        self.path.rename(target)
        return target

    def _write(self, lines: Iterable[dict]) -> None:
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as f:
            f.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
            f.flush()
            os.fsync(f.fileno())  # a kill after this point loses nothing written here

    def append(self, records: Sequence[dict]) -> None:
        """Append records (one chunk), fsync'd together.

        Raises:
            ValueError: a record without a key, or with a key the log already holds (a bug in the
                caller: resume would then count it twice).
        """
        new = set()
        for record in records:
            key = record.get("key")
            if key is None or key in self.keys or key in new:
                raise ValueError(f"{self.path}: cannot append key {key!r}: missing or already logged")
            new.add(key)
        self._write(records)
        self.records.extend(records)
        self.keys |= new

    def pending(self, items: Iterable[dict]) -> list[dict]:
        """The items whose ``key`` is not logged yet, in input order."""
        return [item for item in items if item["key"] not in self.keys]


def describe_difference(old: dict, new: dict) -> str:
    """A short "field: old → new" list of the identity fields that differ."""
    fields = sorted(set(old) | set(new))
    changes = [
        f"{f}: {_short(old.get(f), new.get(f))} -> {_short(new.get(f), old.get(f))}" for f in fields if old.get(f) != new.get(f)
    ]
    return "; ".join(changes) or "identities differ"


def _short(value: Any, other: Any = None, limit: int = 60) -> str:
    """``value`` as text, cut to ``limit`` characters around where it first differs from ``other``."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    if len(text) <= limit:
        return text
    other_text = json.dumps(other, ensure_ascii=False) if not isinstance(other, str) else other
    first = next((k for k, (a, b) in enumerate(zip(text, other_text)) if a != b), min(len(text), len(other_text)))
    start = max(0, min(first - limit // 3, len(text) - limit))
    return ("…" if start else "") + text[start : start + limit] + ("…" if start + limit < len(text) else "")


def _read(path: Path) -> tuple[dict | None, list[dict]]:
    """``(identity or None, records)`` of a log; a torn last line is cut from the file."""
    if not path.exists():
        return None, []
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a log file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a UTF-8 text log") from None
    header, records, good = None, [], []
    for k, text in enumerate(lines):
        try:
            line = json.loads(text)
            if not text.endswith("\n"):
                raise ValueError("unterminated")
            if not isinstance(line, dict):
                raise ValueError("not an object")
        except ValueError:
            if k == len(lines) - 1:  # the write a kill interrupted: drop it, it will be redone
                path.write_text("".join(good), encoding="utf-8")
                break
            raise DataError(f"{path}: line {k + 1}: not a valid log line") from None
        good.append(text)
        if k == 0 and IDENTITY_KEY in line:
            header = line[IDENTITY_KEY]
        else:
            records.append(line)
    return header, records


def read_log(path: str | Path) -> list[dict]:
    """The lines of a run log without its identity header (``[]`` when the file does not exist).

    A last line cut off by a crash is dropped (and removed from the file).

    Raises:
        DataError: a damaged line that is not the last one; a folder or a non-UTF-8 file.
    """
    return _read(Path(path))[1]


def read_identity(path: str | Path) -> dict | None:
    """The identity header of a run log (``None``: no log, or a log without one)."""
    return _read(Path(path))[0]


def generate_into_log(
    engine,
    items: Sequence[Any],
    messages_of: Callable[[Any], list[dict]],
    records_of: Callable[[Any, list], list[dict]],
    log: RunLog,
    sampling,
    chunk_size: int = 8,
    progress: bool = True,
    desc: str = "judging",
    total: int | None = None,
) -> list[dict]:
    """Generate for ``items`` chunk by chunk and append each chunk's records to ``log``.

    The judging loop of every stage: render prompts → generate → turn each output into a record
    (parse the verdict, check a trace…) → append the chunk, fsync'd. A kill loses at most the chunk
    in flight; a backend that fails after finishing some chunks keeps them, and a failure inside a
    chunk keeps the answers the backend reports having received (``completed`` on its error).

    Args:
        engine: a :class:`~rmr1_utils.generation.GenerationBackend`.
        items: what to generate for (already filtered to the pending ones).
        messages_of: item → chat messages to send.
        records_of: ``(item, completions)`` → its log records (each with a unique ``key``; one per
            completion when a prompt is sampled ``n`` times).
        log: where the records go.
        sampling: :class:`~rmr1_utils.generation.SamplingParams`.
        chunk_size: items generated (and logged) together.
        progress: show a progress bar.
        desc: the progress bar's label.
        total: the bar's total when ``items`` is the pending part of a larger job.

    Returns:
        The new records, in order.
    """
    from tqdm.auto import tqdm

    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    total = len(items) if total is None else total
    bar = tqdm(total=total, initial=total - len(items), desc=desc, disable=not progress or not items)
    new: list[dict] = []
    try:
        for start in range(0, len(items), chunk_size):
            chunk = items[start : start + chunk_size]
            try:
                outputs = engine.generate([messages_of(item) for item in chunk], sampling, progress=False)
            except Exception as e:
                # A backend that fails part-way (a server giving up after its retries) hands back the
                # answers it did get (`completed`, None where none came): log them before stopping.
                partial = getattr(e, "completed", None) or []
                kept = [r for item, c in zip(chunk, partial) if c is not None for r in records_of(item, c)]
                if kept:
                    log.append(kept)
                    new.extend(kept)
                raise
            records = [r for item, completions in zip(chunk, outputs) for r in records_of(item, completions)]
            log.append(records)
            new.extend(records)
            bar.update(len(chunk))
    finally:
        bar.close()
    return new
