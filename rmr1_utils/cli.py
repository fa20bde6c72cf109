"""The ``rmr1`` command: one sub-command per stage, each backed by its module's ``make_parser`` + ``main``.

The notebooks, this CLI and the tests call the same ``main`` functions, so there is one code path
per stage. Errors the user can fix (a bad file or flag, an unknown model) print one line and exit
with 2. Anything else is a bug: it prints one line too, with a hint to rerun with ``--debug``
(``rmr1 --debug <stage> …``), which shows the full traceback of every error.
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
from rmr1_utils.stage import StageArgumentParser

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
    "plan": "rmr1_utils.plan",
    "env": "rmr1_utils.env",
}

#: Training stages parse their own arguments with TRL's ``TrlParser`` (``--config RECIPE.yaml``
#: plus ``--field value`` overrides, like ``trl sft``); ``rmr1`` hands them the rest of the line.
TRL_STAGES: dict[str, str] = {
    "distill": "Distil chain-of-rubrics traces into a ReasRM (TRL SFTTrainer; full, LoRA or QLoRA).",
    "grpo": "Train a ReasRM with GRPO and the verifiable verdict reward (TRL GRPOTrainer; full, LoRA or QLoRA).",
}


def make_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per stage."""
    parser = StageArgumentParser(
        prog="rmr1",
        description="RM-R1: Reward Modeling as Reasoning — the course's command line. One sub-command per stage.",
    )
    parser.add_argument("--version", action="version", version=f"rmr1 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of any error")
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
        # Import-time notices of optional kernels (bitsandbytes' CPU kernels, vLLM's Triton) are not
        # the user's concern and would turn a one-line error into three lines.
        for noisy in ("bitsandbytes", "vllm"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
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
        if args.debug:
            raise
        print(f"rmr1 {args.stage}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rmr1 {args.stage}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise  # argparse (TRL stages parse their own flags) already printed its message
    except Exception as e:  # the last-resort boundary: a bug, or an input we did not foresee
        if args.debug:
            raise
        detail = " ".join(str(e).split()) or "no message"
        print(f"rmr1 {args.stage}: unexpected error: {type(e).__name__}: {detail[:500]} (rerun as `rmr1 --debug {args.stage} …` "
              "for the traceback)", file=sys.stderr)  # fmt: skip
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
