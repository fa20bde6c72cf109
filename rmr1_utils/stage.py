"""Plumbing shared by every stage's entry point (``make_parser`` + ``main``), TRL-scripts style."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence


def stage_parser(subparsers: argparse._SubParsersAction | None, name: str, description: str) -> argparse.ArgumentParser:
    """The parser of stage ``name``: a sub-parser of ``rmr1`` or, with ``subparsers=None``, standalone.

    Args:
        subparsers: the ``rmr1`` sub-parsers action, or ``None``.
        name: the stage's sub-command name.
        description: one line shown in ``rmr1 --help`` and the stage's own help.

    Returns:
        The parser to add the stage's arguments to.
    """
    if subparsers is None:
        return argparse.ArgumentParser(prog=f"rmr1 {name}", description=description)
    return subparsers.add_parser(name, help=description, description=description)


def parse_stage_args(
    args: argparse.Namespace | Sequence[str] | None, make_parser: Callable[[], argparse.ArgumentParser]
) -> argparse.Namespace:
    """Accept what a stage's ``main`` may be given: a parsed namespace (CLI), an argv list (tests,
    notebooks) or ``None`` (read ``sys.argv``)."""
    if isinstance(args, argparse.Namespace):
        return args
    return make_parser().parse_args(args)


def add_endpoint_arguments(parser: argparse.ArgumentParser, role: str = "openai backend") -> None:
    """The options of an OpenAI-compatible endpoint shared by the stages that can call one.

    Args:
        parser: the stage's parser.
        role: how the help names the endpoint (``"openai backend"``, ``"endpoint teacher"``).
    """
    parser.add_argument("--api-key-env", default="OPENAI_API_KEY", help=f"{role}: environment variable holding the API key")
    parser.add_argument("--max-concurrency", type=int, default=8, help=f"{role}: requests in flight")


def endpoint_options(args: argparse.Namespace, base_url: str) -> dict:
    """``backend_options`` for the openai backend from the options of :func:`add_endpoint_arguments`."""
    return {"base_url": base_url, "api_key_env": args.api_key_env, "max_concurrency": args.max_concurrency}
