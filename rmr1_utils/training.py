"""What the two training stages (``rmr1 distill``, ``rmr1 grpo``) share.

Both are TRL trainers driven by a YAML recipe plus command-line overrides (TRL's ``TrlParser``),
load the same kinds of models (``embedded``, ``tiny-random``, a folder or a Hub id; full, LoRA,
4/8-bit QLoRA), resolve precision for the device at hand and export a plain HF folder at the end.
Writing those once here keeps the two entry points the same shape.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from rmr1_utils.benchmark_files import SWAPPED_SUFFIX
from rmr1_utils.config_files import (  # noqa: F401 - RECIPES_ROOT is imported from here by stages
    RECIPES_ROOT,
    check_training_ranges,
    check_trl_config,
    recipe_path,
)
from rmr1_utils.errors import DataError, RMR1Error
from rmr1_utils.models import load_model_and_tokenizer
from rmr1_utils.precision import CPU, DeviceInfo, Precision, assumed_gpu_elsewhere, choose_precision, detect_device


def sharded_training(args=None) -> str | None:
    """How the parameters are sharded across processes, from what the launcher set.

    ``accelerate launch`` with ``recipes/accelerate/fsdp.yaml`` or ``deepspeed_zero3.yaml`` sets
    ``ACCELERATE_USE_FSDP`` / ``ACCELERATE_USE_DEEPSPEED`` + ``ACCELERATE_DEEPSPEED_ZERO_STAGE``; a
    trainer config may also carry ``fsdp``/``deepspeed`` itself.

    Args:
        args: a ``TrainingArguments``-like object (its ``fsdp``/``deepspeed`` fields), or ``None``.

    Returns:
        ``"fsdp"``, ``"zero3"`` or ``None`` (one process, DDP, ZeRO-1/2: every rank holds whole weights).
    """
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" or getattr(args, "fsdp", None):
        return "fsdp"
    if os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true":
        if os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "") == "3":
            return "zero3"
    deepspeed = getattr(args, "deepspeed", None)
    if isinstance(deepspeed, dict) and deepspeed.get("zero_optimization", {}).get("stage") == 3:
        return "zero3"
    if isinstance(deepspeed, str) and Path(deepspeed).is_file():
        config = json.loads(Path(deepspeed).read_text(encoding="utf-8"))
        if config.get("zero_optimization", {}).get("stage") == 3:
            return "zero3"
    return None


def resolve_device_settings(args, device: DeviceInfo | None = None) -> None:
    """Resolve the automatic settings of a trainer config for the device at hand (in place).

    * **Precision** (:func:`rmr1_utils.precision.choose_precision`): ``bf16``/``fp16`` ``None`` means
      bf16 on GPUs of compute capability ≥ 8.0, fp16 below (a T4), neither on CPU; bf16 asked for on a
      card without it is refused. What was asked is kept (``precision_request``) for the model's
      dtype, decided when the model loads (:func:`training_precision`).
    * **Prompt sharing and gradient checkpointing** cannot both be on (checkpointing recomputes a
      layer without the shared prefix's KV cache), nor can sharing run under FSDP/ZeRO-3 (its extra,
      data-dependent forward would desynchronise the ranks' parameter gathers). ``None`` means: on
      GPU checkpointing, unless ``share_prompt_prefix: true`` was asked for; on CPU sharing, no
      checkpointing (it costs time and saves little there). Both asked for is an error, not a silent
      choice.
    * On CPU, ``use_cpu`` is set so several CPU processes form one gloo group under
      ``torchrun``/``accelerate launch``, and nothing is pinned.

    Args:
        args: a ``TrainingArguments``-like object whose ``bf16``/``fp16``/``gradient_checkpointing``
            (and ``share_prompt_prefix`` where it has one) may be ``None`` (automatic).
        device: the device (default: detected; CPU when ``use_cpu``). Tests pass a GPU's
            :class:`~rmr1_utils.precision.DeviceInfo` here, the one fact a CPU machine cannot measure.

    Raises:
        RMR1Error: bf16 asked for on a card without it; both sharing and checkpointing asked for;
            sharing asked for under FSDP/ZeRO-3.
    """
    request = getattr(args, "precision_request", None) or (args.bf16, args.fp16)
    object.__setattr__(args, "precision_request", request)
    if device is None:
        device = CPU if getattr(args, "use_cpu", False) else detect_device()
    precision = choose_precision(device, bf16=request[0], fp16=request[1])
    args.bf16, args.fp16 = precision.bf16, precision.fp16
    if device.kind != "cuda":
        args.dataloader_pin_memory = False  # nothing to pin to without an accelerator
        # Tells accelerate this is a CPU run: under torchrun / `accelerate launch --multi_gpu`
        # the processes then join one gloo group (MULTI_CPU) instead of each training alone.
        args.use_cpu = True
    checkpointing, share = args.gradient_checkpointing, getattr(args, "share_prompt_prefix", False)
    sharded = sharded_training(args)
    if checkpointing and share:
        raise RMR1Error(
            "share_prompt_prefix and gradient_checkpointing cannot both be true (checkpointing recomputes each layer "
            "without the shared prefix's cache): set one of them to false"
        )
    if share and sharded:
        raise RMR1Error(
            f"share_prompt_prefix: true cannot run under {'FSDP' if sharded == 'fsdp' else 'DeepSpeed ZeRO-3'} (its extra "
            "forward would desynchronise the ranks' parameter gathers): set share_prompt_prefix: false"
        )
    if checkpointing is None:
        checkpointing = device.kind == "cuda" and not share
    args.gradient_checkpointing = bool(checkpointing)
    if hasattr(args, "share_prompt_prefix") and share is None:
        args.share_prompt_prefix = not checkpointing and not sharded


def training_precision(model_args, training_args, device: DeviceInfo | None = None) -> Precision:
    """The precision a training run loads its model in and trains with (one decision for both).

    Args:
        model_args: TRL ``ModelConfig`` (``dtype``, quantization, ``use_peft``).
        training_args: the trainer config, after :func:`resolve_device_settings`.
        device: the device (default: detected; CPU when ``use_cpu``).

    Returns:
        The :class:`~rmr1_utils.precision.Precision`.
    """
    if device is None:
        device = CPU if training_args.use_cpu else detect_device()
    quantization = quantization_of(model_args)
    bf16, fp16 = getattr(training_args, "precision_request", (training_args.bf16, training_args.fp16))
    return choose_precision(
        device,
        model_args.dtype,
        quantization,
        full_finetune=not quantization and not model_args.use_peft,
        bf16=bf16,
        fp16=fp16,
    )


def apply_precision(training_args, precision: Precision) -> None:
    """Set the trainer's mixed-precision flags to ``precision`` (before the trainer is built)."""
    training_args.bf16, training_args.fp16 = precision.bf16, precision.fp16
    # TrainingArguments derives `mixed_precision` (what the Accelerator gets) from the flags when created.
    training_args.mixed_precision = "fp16" if precision.fp16 else "bf16" if precision.bf16 else "no"


@dataclass
class CPUSafeTrainingDefaults:
    """The settings both training stages change from TRL's defaults; mixed in before the TRL config.

    Attributes:
        bf16, fp16: ``None`` = automatic (:func:`resolve_device_settings`: bf16 from compute
            capability 8.0, fp16 below it, neither on CPU).
        gradient_checkpointing: ``None`` = automatic (CUDA: on unless ``share_prompt_prefix: true``; CPU: off).
        share_prompt_prefix: run the prompt prefix a batch's rows share through the model once
            (``None`` = automatic: whenever checkpointing is off and the weights are not sharded).
        min_shared_prefix: shortest common prefix (tokens) worth sharing.
        detach_shared_prefix: run the shared prefix without gradients (a constant context, like a
            prompt cache): the loss is the same, the gradient drops only the path through the
            prefix's own activations, and a CPU step costs ~40 % less.
        prefix_refresh_steps: with ``detach_shared_prefix``, recompute the shared prefix's keys and
            values every N optimizer steps (1 = every step, exact); in between the last ones are
            reused, as a prompt cache would (layers below ``freeze_layers_below`` never change).
        freeze_layers_below: train only the decoder layers from this index up (0 = all); the
            frozen lower layers run forward only, so the backward pass stops at the first
            trainable layer. Embeddings stay frozen whenever this is > 0.
        side_token_weight: weight of the loss on supervised tokens that name a side (``A``/``B``:
            the verdict, "Chatbot B …", the quote tags). A judge's decision is one or two of a
            trace's ~90 tokens; once the format is learned (a few steps) the rest is copying, and
            the decision's share of the gradient decides how soon the judge stops guessing.
        both_orders_in_batch: batch the two A/B orders of a pair together (tasks ``<id>`` and
            ``<id>-swapped``, as ``rmr1 prepare`` writes them with ``both_orders``): within every
            batch a preference for a position lowers the loss of one order exactly as much as it
            raises the other's, so the only way down is to judge the content.
        save_strategy: no checkpoints unless asked (a CPU run is minutes long).
        disable_tqdm: keep the progress bar and per-step logs.
    """

    bf16: bool | None = field(
        default=None, metadata={"help": "None = automatic: on for GPUs of compute capability >= 8.0, else off"}
    )
    fp16: bool | None = field(
        default=None, metadata={"help": "None = automatic: on for GPUs below compute capability 8.0 (a T4), else off"}
    )
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "None = automatic: on for CUDA unless share_prompt_prefix: true; off on CPU"}
    )
    share_prompt_prefix: bool | None = field(
        default=None,
        metadata={"help": "run the rows' shared prompt prefix once (None = automatic: when not checkpointing or sharded)"},
    )
    min_shared_prefix: int = field(default=32, metadata={"help": "shortest common prefix worth sharing"})
    detach_shared_prefix: bool = field(
        default=False, metadata={"help": "run the shared prefix without gradients (cheaper; not the exact gradient)"}
    )
    prefix_refresh_steps: int = field(
        default=1, metadata={"help": "with detach_shared_prefix: recompute the prefix every N steps (1 = exact)"}
    )
    freeze_layers_below: int = field(default=0, metadata={"help": "train only decoder layers >= this index (0 = all)"})
    side_token_weight: float = field(default=1.0, metadata={"help": "loss weight of tokens naming a side (A/B)"})
    both_orders_in_batch: bool = field(
        default=False, metadata={"help": "batch both A/B orders of a pair together (ids <id> and <id>-swapped)"}
    )
    save_strategy: str = field(default="no", metadata={"help": "checkpoints: 'no', 'steps' or 'epoch'"})
    disable_tqdm: bool | None = field(default=False, metadata={"help": "hide the progress bar and per-step logs"})

    def __post_init__(self):
        resolve_device_settings(self)
        # `rmr1 plan` parses a GPU recipe on a machine without that GPU (an assumed device):
        # transformers would refuse bf16 here, so its check sees bf16 off and the flag is put back.
        planned_bf16 = self.bf16 if assumed_gpu_elsewhere() else None
        if planned_bf16:
            self.bf16 = False
        super().__post_init__()
        if planned_bf16:
            self.bf16 = True
            self.mixed_precision = "bf16"


@contextlib.contextmanager
def supervised_positions_only():
    """Score only the supervised positions in TRL's fused LM head, on every device.

    TRL's fused head (``add_fused_lm_head``) gathers the positions whose label is not ``-100``
    before the vocabulary projection on Triton devices, but scores *every* position elsewhere (to
    keep tile shapes fixed for compilers such as Neuron's). On CPU that projects the prompt and the
    padding through the 49,152-word head too: a third of a distillation step here, and most of a
    GRPO loss forward (a ~800-token prompt before a short completion). The gathered path is the
    same arithmetic on fewer rows (same loss and gradients, tested), so both trainers select it.
    """
    import trl.trainer.utils as trl_utils

    original = trl_utils._use_triton
    trl_utils._use_triton = lambda device: device.type == "cpu" or original(device)
    try:
        yield
    finally:
        trl_utils._use_triton = original


def shared_prefix_inputs(
    prefix_model,
    input_ids,
    attention_mask,
    end: int,
    start: int = 0,
    detach: bool = False,
    past_key_values=None,
    keep_prefix: bool = False,
) -> tuple[dict, object]:
    """The first half of the shared-prefix training forward: tokens every row shares, run once.

    Both training stages use it: ``rmr1 distill`` for the prompt prefix a batch's rows share,
    ``rmr1 grpo`` for the prompt a group's rows repeat. ``input_ids[0, start:end]`` goes through the
    model once — with gradients unless ``detach`` — and its KV cache is repeated for every row. The
    returned inputs are the second half's: the rows' tokens from ``end`` on, attending to that
    cache. The loss and the gradients equal the plain forward's (tested in both stages); the
    prefix's compute is paid once instead of once per row.

    Args:
        prefix_model: the *unwrapped* model. Under DDP the suffix pass, through the wrapper, owns
            the gradient hooks, and autograd sums both passes' gradients before they fire.
        input_ids: ``(rows, length)``; every row holds the same tokens in ``[start, end)``.
        attention_mask: ``(rows, length)``, ones in ``[start, end)``.
        end: the first position that is not shared.
        start: the prefix's first position; the tokens before it are left padding, dropped. Positions
            keep their offsets, as in the plain forward.
        detach: run the prefix without gradients (``detach_shared_prefix``): a constant context, so
            no graph is kept for it.
        past_key_values: a batch-of-one cache of the prefix's first tokens to continue from (a
            reused prefix, ``prefix_refresh_steps``); only the tokens after it are run.
        keep_prefix: also return a copy of the prefix's batch-of-one cache, to reuse later (with
            ``detach`` only: a cache inside an autograd graph cannot be copied).

    Returns:
        ``(inputs, prefix)``: ``input_ids``, ``attention_mask`` (prefix and suffix: its width is the
        cache's plus the suffix's, as with any KV cache), ``position_ids`` and ``past_key_values``
        for the suffix pass; and the copy of the prefix cache, or ``None``.
    """
    import torch

    rows, total = input_ids.shape
    done = start + (past_key_values.get_seq_length() if past_key_values is not None else 0)
    with torch.no_grad() if detach else contextlib.nullcontext():
        cache = past_key_values
        if done < end:
            positions = torch.arange(done, end, device=input_ids.device).unsqueeze(0)
            cache = prefix_model(input_ids=input_ids[:1, done:end], position_ids=positions, past_key_values=cache,
                                 use_cache=True, logits_to_keep=1).past_key_values  # fmt: skip
        prefix = copy.deepcopy(cache) if keep_prefix else None
        cache.batch_repeat_interleave(rows)
    inputs = {
        "input_ids": input_ids[:, end:],
        "attention_mask": attention_mask[:, start:],
        "position_ids": torch.arange(end, total, device=input_ids.device).unsqueeze(0).expand(rows, -1),
        "past_key_values": cache,
    }
    return inputs, prefix


#: The id suffix of a task's second A/B order (``rmr1 prepare`` with ``both_orders``, ``evaluate --both-orders``).


def pair_groups(ids: Sequence[str]) -> list[list[int]]:
    """Indices of rows that are orders of the same pair (``<id>`` and ``<id>-swapped``), in first-seen order."""
    groups: dict[str, list[int]] = {}
    for index, task_id in enumerate(ids):
        groups.setdefault(task_id.removesuffix(SWAPPED_SUFFIX), []).append(index)
    return list(groups.values())


def pair_order_batches(groups: Sequence[Sequence[int]], lengths: Sequence[int], batch_size: int, seed: int) -> list[int]:
    """A training order that keeps the two orders of every pair in one batch, with similar lengths per batch.

    Pairs are shuffled with ``seed`` and laid out first, two rows each, so with an even batch size
    no pair straddles two batches; rows without a twin (e.g. hand-written traces) come after them.
    Within windows of 8 batches rows are sorted by length (long traces share batches instead of
    padding short ones), then the batches are shuffled (the last, partial one stays last).

    Args:
        groups: row indices per pair (:func:`pair_groups`): one or two rows each.
        lengths: token length of each row.
        batch_size: rows per batch; must be even.
        seed: the seed.

    Returns:
        All row indices, in training order.

    Raises:
        RMR1Error: an odd batch size, or a group of more than two rows.
    """
    import random

    if batch_size % 2:
        raise RMR1Error(f"both_orders_in_batch needs an even per_device_train_batch_size, got {batch_size}")
    if any(len(g) > 2 for g in groups):
        raise RMR1Error("both_orders_in_batch: a pair appears more than twice (duplicate task ids?)")
    rng = random.Random(seed)
    doubles = [list(g) for g in groups if len(g) == 2]
    singles = [list(g) for g in groups if len(g) == 1]
    rng.shuffle(doubles)
    rng.shuffle(singles)

    def windowed(kind: list[list[int]], per_window: int) -> list[int]:
        rows = []
        for start in range(0, len(kind), per_window):
            rows += [i for g in sorted(kind[start : start + per_window], key=lambda g: -max(lengths[i] for i in g)) for i in g]
        return rows

    rows = windowed(doubles, 4 * batch_size) + windowed(singles, 8 * batch_size)
    batches = [rows[k : k + batch_size] for k in range(0, len(rows), batch_size)]
    last = batches.pop() if batches and len(batches[-1]) < batch_size else []
    rng.shuffle(batches)
    return [i for batch in batches for i in batch] + last


class PairOrderSampler:
    """A ``torch`` sampler over :func:`pair_order_batches` (a new order each epoch, from the seed).

    Args:
        groups, lengths, batch_size: see :func:`pair_order_batches`.
        seed: the training seed.
    """

    def __init__(self, groups, lengths, batch_size: int, seed: int):
        self.groups, self.lengths, self.batch_size, self.seed = groups, lengths, batch_size, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        return iter(pair_order_batches(self.groups, self.lengths, self.batch_size, self.seed * 1000 + self.epoch))

    def __len__(self) -> int:
        return len(self.lengths)


def command_line_values(args: Sequence[str]) -> dict[str, str]:
    """``--key value`` and ``--key=value`` pairs of an argv list (flags without a value left out)."""
    values = {}
    for k, arg in enumerate(args):
        if not arg.startswith("--"):
            continue
        if "=" in arg:
            key, value = arg[2:].split("=", 1)
            values[key] = value
        elif k + 1 < len(args) and not args[k + 1].startswith("--"):
            values[arg[2:]] = args[k + 1]
    return values


def parse_trl_args(dataclass_types: tuple, stage: str, args: Sequence[str] | None = None) -> tuple:
    """Parse argv (``--config RECIPE.yaml`` plus ``--field value`` overrides) with TRL's ``TrlParser``.

    A recipe name without a path (``tiny-cpu``) is looked up in ``recipes/<stage>/``. Unknown keys,
    in the recipe or on the command line, fail.

    Args:
        dataclass_types: the stage's dataclasses (script arguments, trainer config, ``ModelConfig``).
        stage: the stage name (recipes folder and ``prog``).
        args: argv without the program name (default ``sys.argv[1:]``).

    Returns:
        One instance per dataclass.

    Raises:
        RMR1Error: an unknown key or a bad value (one line).
    """
    from trl import TrlParser

    args = list(sys.argv[1:] if args is None else args)
    config = None
    if "--config" in args:
        k = args.index("--config") + 1
        if k < len(args):
            config = recipe_path(args[k], stage)
            args[k] = str(config)
            check_trl_config(config, dataclass_types, stage)
    check_training_ranges(command_line_values(args), lambda key: f"argument --{key}")
    parser = TrlParser(dataclass_types, prog=f"rmr1 {stage}")

    def fail(message: str) -> NoReturn:
        # argparse's error: one line naming the flag, or the config file and key it came from
        flag = re.search(r"argument (--[\w-]+)", message)
        if config is not None and flag and flag.group(1) not in args:
            detail = message.split(": ", 1)[-1]
            raise DataError(f"{config}: key {flag.group(1)[2:]!r}: {detail}")
        raise DataError(message)

    parser.error = fail
    try:
        return parser.parse_args_and_config(args, fail_with_unknown_args=True)
    except ValueError as e:
        raise DataError(f"{config}: {e}" if config is not None else str(e)) from None


def stage_arguments(args, parse, argv: Sequence[str] | None = None) -> tuple[tuple, list[str] | None]:
    """A training stage's three parsed dataclasses, and the command-line arguments that made them.

    Args:
        args: the tuple of parsed dataclasses (used as is), an argv list, or ``None`` (``sys.argv``).
        parse: the stage's ``parse_args``.
        argv: for parsed dataclasses, the equivalent arguments when the caller knows them (the pipeline).

    Returns:
        ``((script_args, training_args, model_args), argv)``; ``argv`` is ``None`` for dataclasses
        given without it (the model card then lists the recipe's fields instead of a command).
    """
    if isinstance(args, tuple):
        return args, (list(argv) if argv is not None else None)
    args = list(sys.argv[1:] if args is None else args)
    return parse(args), args


def quantization_of(model_args) -> str | None:
    if model_args.load_in_4bit and model_args.load_in_8bit:
        raise RMR1Error("choose one of load_in_4bit and load_in_8bit")
    return "4bit" if model_args.load_in_4bit else "8bit" if model_args.load_in_8bit else None


def load_trainable_model(model_args, training_args):
    """The model to train and its tokenizer (``embedded``, ``tiny-random``, folder or Hub id), quantized if asked.

    The precision is :func:`training_precision`'s (and the trainer's flags are set to match); the
    recipe's ``bnb_4bit_quant_type`` and ``use_bnb_nested_quant`` reach bitsandbytes; a quantized
    model lands on this process's own GPU. Under several processes the local main process loads
    first, so a model cache (the embedded model, a shipped judge) is built once, not by every rank
    at the same time.

    Args:
        model_args: TRL ``ModelConfig`` (name, dtype, 4/8-bit and its options, attention implementation).
        training_args: the trainer config (``use_cpu`` forces CPU).

    Returns:
        ``(model, tokenizer)``.
    """
    if not model_args.model_name_or_path:
        raise RMR1Error("model_name_or_path is required (e.g. embedded, Qwen/Qwen2.5-1.5B-Instruct)")
    precision = training_precision(model_args, training_args)
    apply_precision(training_args, precision)
    with training_args.main_process_first(local=True, desc="loading the model"):
        model, tokenizer = load_model_and_tokenizer(
            model_args.model_name_or_path,
            quantization=quantization_of(model_args),
            dtype=precision.dtype,
            device="cpu" if training_args.use_cpu else None,
            trust_remote_code=bool(getattr(training_args, "trust_remote_code", False)),
            attn_implementation=model_args.attn_implementation,
            bnb_4bit_quant_type=model_args.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=model_args.use_bnb_nested_quant,
            compute_dtype=precision.compute_dtype,
        )
    freeze_lower_layers(model, getattr(training_args, "freeze_layers_below", 0))
    return model, tokenizer


def freeze_lower_layers(model, below: int) -> int:
    """Freeze the embeddings and the decoder layers under index ``below`` (in place).

    Args:
        model: a causal LM whose decoder layers are named ``...layers.<i>...``.
        below: the first trainable layer; 0 leaves the model as it is.

    Returns:
        The number of parameters still trainable.

    Raises:
        RMR1Error: ``below`` is negative or not below the number of layers.
    """
    import re

    if below == 0:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    layers = model.config.num_hidden_layers
    if not 0 < below < layers:
        raise RMR1Error(f"freeze_layers_below must be between 0 and {layers - 1} (the model has {layers} layers), got {below}")
    pattern = re.compile(r"\.layers\.(\d+)\.")
    for name, param in model.named_parameters():
        match = pattern.search(name)
        # Layers from `below` up train; so does the final norm, which sits above every layer.
        trainable = (match is not None and int(match.group(1)) >= below) or (
            match is None and "norm" in name and "embed" not in name
        )
        param.requires_grad_(trainable)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def write_report(trainer, output_dir: str | Path, name: str, report: dict) -> None:
    """Write a stage report as ``<output_dir>/<name>`` (main process only)."""
    if trainer.accelerator.is_main_process:
        (Path(output_dir) / name).write_text(json.dumps(report, indent=2, default=str) + "\n")


def summarize_log(log_history: Sequence[dict]) -> dict:
    """Headline numbers of a GRPO run from the trainer's log: the mean reward of the first and of
    the last quarter of the steps (one step's reward is the mean of a few groups: noisy), the
    truncation rate, the mean completion length and KL."""
    steps = [h for h in log_history if "reward" in h]
    if not steps:
        return {}

    def mean(key, rows=steps):
        values = [h[key] for h in rows if key in h]
        return sum(values) / len(values) if values else None

    quarter = max(1, len(steps) // 4)
    return {
        "steps": len(steps),
        "reward_first": mean("reward", steps[:quarter]),
        "reward_last": mean("reward", steps[-quarter:]),
        "reward_mean": mean("reward"),
        "truncation_rate": mean("completions/clipped_ratio"),
        "completion_length": mean("completions/mean_length"),
        "kl": mean("kl"),
    }
