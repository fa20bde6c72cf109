"""The ``rmr1`` command: one sub-command per stage, each backed by its module's ``make_parser`` + ``main``.

The notebooks, this CLI and the tests call the same ``main`` functions, so there is one code path
per stage. Errors the user can fix (a bad file, an unknown model) print one line and exit with 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from rmr1_utils import __version__
from rmr1_utils.errors import RMR1Error

#: Stage name → module that provides ``make_parser(subparsers)`` and ``main(args)``.
STAGES: dict[str, str] = {
    "prepare": "rmr1_utils.prepare",
    "prompt": "rmr1_utils.formats",
    "judge": "rmr1_utils.judge",
    "evaluate": "rmr1_utils.evaluate",
    "score": "rmr1_utils.score",
    "distill-data": "rmr1_utils.distill_data",
    "distill": "rmr1_utils.distill",
    "grpo": "rmr1_utils.grpo",
    "pipeline": "rmr1_utils.pipeline",
    "best-of-n": "rmr1_utils.reasrm",
}

#: Training stages parse their own arguments with TRL's ``TrlParser`` (``--config RECIPE.yaml``
#: plus ``--field value`` overrides, like ``trl sft``); ``rmr1`` hands them the rest of the line.
TRL_STAGES: dict[str, str] = {
    "distill": "Distil chain-of-rubrics traces into a ReasRM (TRL SFTTrainer; full, LoRA or QLoRA).",
    "grpo": "Train a ReasRM with GRPO and the verifiable verdict reward (TRL GRPOTrainer; full, LoRA or QLoRA).",
}


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per stage."""
    parser = argparse.ArgumentParser(
        prog="rmr1",
        description="RM-R1: Reward Modeling as Reasoning — the course's command line. One sub-command per stage.",
    )
    parser.add_argument("--version", action="version", version=f"rmr1 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    subparsers = parser.add_subparsers(dest="stage", metavar="STAGE", title="stages")
    for name, module in STAGES.items():
        if name in TRL_STAGES:
            # Imported lazily: TRL and torch load only when the stage runs.
            sub = subparsers.add_parser(name, help=TRL_STAGES[name], add_help=False, prefix_chars="\0")
            sub.add_argument("trl_args", nargs=argparse.REMAINDER)
        else:
            importlib.import_module(module).make_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``rmr1`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.stage is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # transformers' weight-loading bars and advisory warnings drown the stage's own output.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            from datasets.utils import logging as ds_logging

            ds_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - both are hard dependencies
            pass
    try:
        stage = importlib.import_module(STAGES[args.stage])
        stage.main(args.trl_args if args.stage in TRL_STAGES else args)
    except RMR1Error as e:
        print(f"rmr1 {args.stage}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rmr1 {args.stage}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
