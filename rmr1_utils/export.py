"""The end of a training stage: train, prove every rank took part, and export a plain HF folder.

Both training stages (``rmr1 distill``, ``rmr1 grpo``) finish here (:func:`train_and_export`). The
export is what ``rmr1 evaluate``, ``rmr1 judge`` and the next stage load, so it is always a plain
model folder: LoRA/QLoRA adapters merged into the base.

* **Every process calls the export.** Under FSDP (full state dict) or DeepSpeed ZeRO-3 the weights
  live in shards on every rank, and ``Trainer.save_model`` gathers them collectively: every rank
  must call it, and only the main process writes. Called on the main process alone, it waits in the
  gather while the others wait at the next barrier — the hang this module avoids. With DDP or one
  process, the main process writes and the others wait for it.
* **QLoRA merges into a half-precision base, on the GPU when it fits.** Merging into 4-bit weights
  would round the update away, so the adapter is saved and merged into a freshly loaded base in
  the run's precision (:func:`rmr1_utils.training.training_precision`: bf16 or fp16 on a GPU, fp32
  on CPU) — on the GPU when its free memory holds the base, else in CPU memory (half precision:
  a 7B base needs ~15 GB there, not the ~30 GB of fp32).
* Under FSDP/ZeRO-3 with LoRA the gathered adapter is saved on the main process and merged there.

How we differ from the paper: RM-R1 (verl) writes sharded checkpoints and converts them offline;
here every stage ends with a folder any loader reads.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from rmr1_utils.models import load_model_and_tokenizer
from rmr1_utils.training import quantization_of, training_precision

logger = logging.getLogger(__name__)

#: Headroom kept free on the GPU when deciding where to merge (allocator fragmentation, the CUDA context).
MERGE_HEADROOM = 1.15


def is_sharded(trainer) -> bool:
    """Whether the trained weights are sharded across processes (FSDP, or DeepSpeed ZeRO-3)."""
    if getattr(trainer, "is_fsdp_enabled", False):
        return True
    plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    return plugin is not None and plugin.zero_stage == 3


def merge_device(base_parameters: int, bytes_per_parameter: int) -> str:
    """Where to merge adapters into a reloaded base: this process's GPU when its free memory holds it, else the CPU.

    Args:
        base_parameters: the base model's parameter count.
        bytes_per_parameter: 2 in half precision, 4 in fp32.

    Returns:
        ``"cuda"`` or ``"cpu"``.
    """
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    gc.collect()
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    return "cuda" if free >= base_parameters * bytes_per_parameter * MERGE_HEADROOM else "cpu"


def merge_adapter(model_args, training_args, adapter_dir: Path, export_dir: Path) -> Path:
    """Merge a saved adapter into a freshly loaded base in the run's precision, and save the result.

    Args:
        model_args: the run's ``ModelConfig`` (the base model's name).
        training_args: the run's trainer config (its device and precision).
        adapter_dir: the saved adapter.
        export_dir: where the merged model goes.

    Returns:
        ``export_dir``.
    """
    from peft import PeftModel
    from transformers import AutoConfig

    from rmr1_utils.models import resolve_model_path
    from rmr1_utils.plan_model import parameter_count

    precision = training_precision(model_args, training_args)
    dtype = precision.dtype if precision.device.kind == "cuda" else "float32"
    device = "cpu"
    if precision.device.kind == "cuda":
        config = AutoConfig.from_pretrained(resolve_model_path(model_args.model_name_or_path))
        device = merge_device(parameter_count(config.to_dict()), 4 if dtype == "float32" else 2)
    logger.info("merging the adapter into %s in %s on %s", model_args.model_name_or_path, dtype, device)
    base, _ = load_model_and_tokenizer(model_args.model_name_or_path, device=device, dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(export_dir)
    return export_dir


def export_model(trainer, model_args, training_args, export_dir: str | Path, merge_lora: bool = True) -> Path:
    """Write the trained model as a plain HF folder (adapters merged) with its tokenizer. Call on every process.

    Args:
        trainer: the trained trainer.
        model_args: the model options (to reload the base for QLoRA merges).
        training_args: the trainer config (the merge's precision and device).
        export_dir: the target folder.
        merge_lora: merge LoRA adapters (else the adapter folder is written as is).

    Returns:
        The export folder.
    """
    export_dir = Path(export_dir)
    accelerator = trainer.accelerator
    model = accelerator.unwrap_model(trainer.model)
    peft = hasattr(model, "merge_and_unload")
    adapter_dir = export_dir.parent / (export_dir.name + "-adapter")
    if is_sharded(trainer):
        # Collective: every rank gathers its shards; the main process writes.
        target = adapter_dir if peft and merge_lora else export_dir
        # _internal_call: with push_to_hub, a user's save_model also uploads output_dir; the export
        # folder, with its card, is pushed instead (rmr1_utils.hub.push_export).
        trainer.save_model(str(target), _internal_call=True)
        if accelerator.is_main_process and peft and merge_lora:
            merge_adapter(model_args, training_args, adapter_dir, export_dir)
    elif accelerator.is_main_process:
        if peft and merge_lora and quantization_of(model_args):
            model.save_pretrained(adapter_dir)
            merge_adapter(model_args, training_args, adapter_dir, export_dir)
        elif peft and merge_lora:
            model.merge_and_unload().save_pretrained(export_dir)
        elif peft:
            model.save_pretrained(export_dir)
        else:
            trainer.save_model(str(export_dir), _internal_call=True)
    if accelerator.is_main_process:
        trainer.processing_class.save_pretrained(export_dir)
    accelerator.wait_for_everyone()
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
    # Every process calls it: under FSDP/ZeRO-3 the weights are gathered from all ranks.
    export_model(trainer, model_args, training_args, export_dir, merge_lora=merge_lora)
    return result, export_dir, trainable, ranks
