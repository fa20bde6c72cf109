"""What the two training stages (``rmr1 distill``, ``rmr1 grpo``) share.

Both are TRL trainers driven by a YAML recipe plus command-line overrides (TRL's ``TrlParser``),
load the same kinds of models (``embedded``, ``tiny-random``, a folder or a Hub id; full, LoRA,
4/8-bit QLoRA), resolve precision for the device at hand and export a plain HF folder at the end.
Writing those once here keeps the two entry points the same shape.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rmr1_utils.errors import RMR1Error

REPO_ROOT = Path(__file__).resolve().parent.parent
RECIPES_ROOT = REPO_ROOT / "recipes"


def make_cpu_safe(args) -> None:
    """Resolve automatic precision and checkpointing for the device at hand (in place).

    On CPU, bf16/fp16 are turned off (bf16 is emulated and ~4× slower; fp16 is unsupported),
    gradient checkpointing is off unless set to ``True`` explicitly, and ``use_cpu`` is set so
    several CPU processes form one data-parallel group. On CUDA, ``None`` means bf16
    where supported (else fp16) and gradient checkpointing on (TRL's default).

    Args:
        args: a ``TrainingArguments``-like object whose ``bf16``/``gradient_checkpointing`` may be
            ``None`` (automatic).
    """
    import torch

    cuda = torch.cuda.is_available() and not getattr(args, "use_cpu", False)
    if not cuda:
        args.bf16, args.fp16 = False, False
        if args.gradient_checkpointing is None:
            args.gradient_checkpointing = False
        args.dataloader_pin_memory = False  # nothing to pin to without an accelerator
        # Tells accelerate this is a CPU run: under torchrun / `accelerate launch --multi_gpu`
        # the processes then join one gloo group (MULTI_CPU) instead of each training alone.
        args.use_cpu = True
        return
    if args.bf16 is None:
        args.bf16 = torch.cuda.is_bf16_supported() and not args.fp16
        args.fp16 = args.fp16 or not args.bf16
    if args.gradient_checkpointing is None:
        args.gradient_checkpointing = True


@dataclass
class CPUSafeTrainingDefaults:
    """The settings both training stages change from TRL's defaults; mixed in before the TRL config.

    Attributes:
        bf16: ``None`` = automatic (CUDA with bf16 support: on; elsewhere off).
        gradient_checkpointing: ``None`` = automatic (CUDA: on; CPU: off).
        share_prompt_prefix: run the prompt prefix a batch's rows share through the model once.
        min_shared_prefix: shortest common prefix (tokens) worth sharing.
        save_strategy: no checkpoints unless asked (a CPU run is minutes long).
        disable_tqdm: keep the progress bar and per-step logs.
    """

    bf16: bool | None = field(default=None, metadata={"help": "None = automatic: on for CUDA with bf16, else off"})
    gradient_checkpointing: bool | None = field(default=None, metadata={"help": "None = automatic: on for CUDA, off on CPU"})
    share_prompt_prefix: bool = field(default=True, metadata={"help": "run the rows' shared prompt prefix once"})
    min_shared_prefix: int = field(default=32, metadata={"help": "shortest common prefix worth sharing"})
    save_strategy: str = field(default="no", metadata={"help": "checkpoints: 'no', 'steps' or 'epoch'"})
    disable_tqdm: bool | None = field(default=False, metadata={"help": "hide the progress bar and per-step logs"})

    def __post_init__(self):
        make_cpu_safe(self)
        super().__post_init__()


def recipe_path(recipe: str, stage: str) -> Path:
    """A recipe file: an existing path, or a bundled recipe name (``tiny-cpu``, ``colab-t4``…).

    Args:
        recipe: a YAML path or the name of a file in ``recipes/<stage>/``.
        stage: the recipes folder (``distill``, ``grpo``, ``pipeline``).

    Returns:
        The recipe's path.

    Raises:
        RMR1Error: neither a file nor a bundled name (lists the bundled names).
    """
    path = Path(recipe)
    if path.exists():
        return path
    folder = RECIPES_ROOT / stage
    bundled = folder / f"{recipe}.yaml"
    if bundled.exists():
        return bundled
    names = sorted(p.stem for p in folder.glob("*.yaml"))
    raise RMR1Error(f"recipe {recipe!r} not found (not a file; bundled {stage} recipes: {', '.join(names)})")


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
    if "--config" in args:
        k = args.index("--config") + 1
        if k < len(args):
            args[k] = str(recipe_path(args[k], stage))
    try:
        return TrlParser(dataclass_types, prog=f"rmr1 {stage}").parse_args_and_config(args, fail_with_unknown_args=True)
    except ValueError as e:
        raise RMR1Error(str(e)) from None


def stage_arguments(args, parse) -> tuple:
    """A training stage's three parsed dataclasses, from what its ``main`` was given.

    Args:
        args: the tuple of parsed dataclasses (returned as is), an argv list, or ``None`` (``sys.argv``).
        parse: the stage's ``parse_args``.
    """
    return args if isinstance(args, tuple) else parse(args)


def resolve_data_path(path: str | Path) -> Path:
    """A data path as given, or relative to the repository (recipes name repository paths)."""
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    repo = REPO_ROOT / p
    return repo if repo.exists() else p


def quantization_of(model_args) -> str | None:
    if model_args.load_in_4bit and model_args.load_in_8bit:
        raise RMR1Error("choose one of load_in_4bit and load_in_8bit")
    return "4bit" if model_args.load_in_4bit else "8bit" if model_args.load_in_8bit else None


def load_trainable_model(model_args, training_args):
    """The model to train and its tokenizer (``embedded``, ``tiny-random``, folder or Hub id), quantized if asked.

    Args:
        model_args: TRL ``ModelConfig`` (name, dtype, 4/8-bit, attention implementation).
        training_args: the trainer config (``bf16`` picks bfloat16 weights, ``use_cpu`` forces CPU).

    Returns:
        ``(model, tokenizer)``.
    """
    from rmr1_utils.models import load_model_and_tokenizer

    if not model_args.model_name_or_path:
        raise RMR1Error("model_name_or_path is required (e.g. embedded, Qwen/Qwen2.5-1.5B-Instruct)")
    dtype = None if model_args.dtype in (None, "auto") else model_args.dtype
    if training_args.bf16 and dtype is None:
        dtype = "bfloat16"
    model, tokenizer = load_model_and_tokenizer(
        model_args.model_name_or_path,
        quantization=quantization_of(model_args),
        dtype=dtype,
        device="cpu" if training_args.use_cpu else None,
        trust_remote_code=bool(getattr(training_args, "trust_remote_code", False)),
        attn_implementation=model_args.attn_implementation,
    )
    return model, tokenizer


def export_model(trainer, model_args, export_dir: str | Path, merge_lora: bool = True) -> Path:
    """Write the trained model as a plain HF folder (adapters merged) with its tokenizer.

    Args:
        trainer: the trained trainer.
        model_args: the model options (to reload a full-precision base for QLoRA merges).
        export_dir: the target folder.
        merge_lora: merge LoRA adapters (else the adapter folder is written as is).

    Returns:
        The export folder.
    """
    import torch

    export_dir = Path(export_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    tokenizer = trainer.processing_class
    if hasattr(model, "merge_and_unload") and merge_lora:
        if quantization_of(model_args):
            # Merging into 4/8-bit weights would round the update away: merge into a full-precision base.
            from peft import PeftModel

            from rmr1_utils.models import load_model_and_tokenizer

            adapter_dir = export_dir.parent / (export_dir.name + "-adapter")
            model.save_pretrained(adapter_dir)
            base, _ = load_model_and_tokenizer(model_args.model_name_or_path, device="cpu", dtype=torch.float32)
            model = PeftModel.from_pretrained(base, str(adapter_dir))
        merged = model.merge_and_unload()
        merged.save_pretrained(export_dir)
    elif hasattr(model, "merge_and_unload"):
        model.save_pretrained(export_dir)
    else:
        trainer.save_model(str(export_dir))
    tokenizer.save_pretrained(export_dir)
    return export_dir


def rank_participation(trainer, steps: int) -> list[dict]:
    """Every process's rank and optimizer steps, gathered (all processes must call this).

    Returns:
        ``[{"rank": 0, "steps": n}, {"rank": 1, "steps": n}, ...]`` — proof that every rank trained.
    """
    import torch

    accelerator = trainer.accelerator
    local = torch.tensor([[accelerator.process_index, steps]], device=accelerator.device)
    gathered = accelerator.gather(local).tolist()
    return [{"rank": int(r), "steps": int(n)} for r, n in gathered]


def _step_counter():
    from transformers import TrainerCallback

    class StepCounter(TrainerCallback):
        """Counts the optimizer steps this process took (resumed steps excluded)."""

        steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            self.steps += 1

    return StepCounter()


def train_and_export(trainer, training_args, model_args, export_dir: str | None, merge_lora: bool) -> tuple:
    """Train (resuming when ``resume_from_checkpoint`` says so), then export the plain HF model.

    Args:
        trainer: a TRL trainer, ready.
        training_args: its config (``resume_from_checkpoint``: a path, ``true``/``last``, or empty).
        model_args: the model options (for the QLoRA merge).
        export_dir: the export folder (default ``<output_dir>/final``).
        merge_lora: merge LoRA adapters into the export.

    Returns:
        ``(train_output, export_dir, trainable_parameters, ranks)`` — ``ranks`` from
        :func:`rank_participation`.
    """
    resume = training_args.resume_from_checkpoint
    if isinstance(resume, str) and resume.lower() in ("true", "last"):
        resume = True
    counter = _step_counter()
    trainer.add_callback(counter)
    result = trainer.train(resume_from_checkpoint=resume)
    ranks = rank_participation(trainer, counter.steps)
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    export_dir = Path(export_dir or Path(training_args.output_dir) / "final")
    if trainer.accelerator.is_main_process:
        export_model(trainer, model_args, export_dir, merge_lora=merge_lora)
    trainer.accelerator.wait_for_everyone()
    return result, export_dir, trainable, ranks


def write_report(trainer, output_dir: str | Path, name: str, report: dict) -> None:
    """Write a stage report as ``<output_dir>/<name>`` (main process only)."""
    if trainer.accelerator.is_main_process:
        (Path(output_dir) / name).write_text(json.dumps(report, indent=2, default=str) + "\n")
