"""Plumbing shared by every stage's entry point (``make_parser`` + ``main``), TRL-scripts style."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rmr1_utils.resources import resolve_data_path


class StageArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (exit code 2), not the usage block and then the error.

    ``rmr1 <stage> --help`` still shows the full usage.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(kind: type, minimum: float | None = None, maximum: float | None = None, above: float | None = None):
    """An argparse ``type`` that parses ``kind`` and checks its range, naming the range when it fails."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value):  # NaN passes every comparison below; an infinite timeout never ends
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if above is not None and not value > above:
            raise argparse.ArgumentTypeError(f"must be > {above:g}, got {text}")
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {text}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be <= {maximum:g}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


#: Argument types for numeric flags: validated when parsed, so a bad value is one line, exit code 2.
positive_int = _number(int, minimum=1)
non_negative_int = _number(int, minimum=0)
non_negative_float = _number(float, minimum=0.0)
positive_float = _number(float, above=0.0)
probability = _number(float, above=0.0, maximum=1.0)


def stage_parser(subparsers: argparse._SubParsersAction | None, name: str, description: str) -> argparse.ArgumentParser:
    """The parser of stage ``name``: a sub-parser of ``rmr1`` or, with ``subparsers=None``, standalone.

    Args:
        subparsers: the ``rmr1`` sub-parsers action, or ``None``.
        name: the stage's sub-command name.
        description: one line shown in ``rmr1 --help`` and the stage's own help.

    Returns:
        The parser to add the stage's arguments to.
    """
    # No abbreviations: `--max-new-token 8` must be an error, not a silent `--max-new-tokens 8`
    if subparsers is None:
        return StageArgumentParser(prog=f"rmr1 {name}", description=description, allow_abbrev=False)
    return subparsers.add_parser(name, help=description, description=description, allow_abbrev=False)


def parse_stage_args(
    args: argparse.Namespace | Sequence[str] | None, make_parser: Callable[[], argparse.ArgumentParser]
) -> argparse.Namespace:
    """Accept what a stage's ``main`` may be given: a parsed namespace (CLI), an argv list (tests,
    notebooks) or ``None`` (read ``sys.argv``)."""
    if isinstance(args, argparse.Namespace):
        return args
    return make_parser().parse_args(args)


def http_url(text: str) -> str:
    """An argparse ``type``: an ``http://`` or ``https://`` URL (caught here, not at the first request).

    Args:
        text: the flag's value as typed.

    Returns:
        The URL, unchanged.

    Raises:
        argparse.ArgumentTypeError: no http(s) scheme, or nothing after it.
    """
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1].strip("/")) == 0:
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL such as http://127.0.0.1:8000/v1, got {text!r}")
    return text


def data_path(text: str) -> str:
    """An argparse ``type``: a data file or folder, found from any working directory.

    Returns:
        The path as typed when it exists here (or is found nowhere: the error then names it), else
        the bundled file it names (``data/bench/rmbench_sample.jsonl`` after ``pip install``; see
        :func:`rmr1_utils.resources.resolve_data_path`).
    """
    resolved = resolve_data_path(text)
    return text if resolved == Path(text) else str(resolved)


def _blocking_file(path: Path) -> Path | None:
    """The file (not folder) at ``path`` or above it that stops ``path`` being created as asked."""
    return next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)


def output_folder(text: str) -> str:
    """An argparse ``type``: a folder to write into (``--out``); refused when a file is in the way.

    Raises:
        argparse.ArgumentTypeError: ``text``, or a folder above it, is an existing file.
    """
    blocking = _blocking_file(Path(text))
    if blocking is not None:
        where = "" if blocking == Path(text) else f" ({blocking} is a file, so the folder cannot be created)"
        raise argparse.ArgumentTypeError(f"{text} is a file, expected a folder{where}" if not where else f"{text}{where}")
    return text


def output_file(text: str) -> str:
    """An argparse ``type``: a file to write (a run log); refused when it is a folder or a file is above it.

    Raises:
        argparse.ArgumentTypeError: ``text`` is a folder, or a folder above it is an existing file.
    """
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, expected a file")
    blocking = _blocking_file(path.parent)
    if blocking is not None:
        raise argparse.ArgumentTypeError(f"{text}: {blocking} is a file, so the file cannot be created in it")
    return text


def add_endpoint_arguments(parser: argparse.ArgumentParser, role: str = "openai backend") -> None:
    """The options of an OpenAI-compatible endpoint shared by the stages that can call one.

    Numbers are checked when parsed, so a bad value is argparse's one-line error naming the flag
    (exit code 2), never a traceback from deep inside the backend.

    Args:
        parser: the stage's parser.
        role: how the help names the endpoint (``"openai backend"``, ``"endpoint teacher"``).
    """
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help=f"{role}: environment variable holding the API key")
    parser.add_argument("--max-concurrency", type=positive_int, default=8, help=f"{role}: requests in flight")
    parser.add_argument(
        "--timeout", type=positive_float, default=120.0, help=f"{role}: seconds allowed to connect and for each read/write"
    )
    parser.add_argument(
        "--retries",
        type=non_negative_int,
        default=6,
        help=f"{role}: retries of a request after 429, 5xx, timeouts, dropped connections or an unparsable answer (0: none)",
    )


def endpoint_options(args: argparse.Namespace, base_url: str) -> dict:
    """``backend_options`` for the openai backend from the options of :func:`add_endpoint_arguments`.

    Args:
        args: the parsed arguments of a parser given :func:`add_endpoint_arguments`.
        base_url: the server's API root.

    Returns:
        Keyword arguments of :class:`~rmr1_utils.generation.openai.OpenAIBackend` (the key itself is
        never among them: only the name of the variable it is read from).
    """
    return {
        "base_url": base_url,
        "api_key_env": args.api_key_env,
        "max_concurrency": args.max_concurrency,
        "timeout": args.timeout,
        "max_retries": args.retries,
    }
