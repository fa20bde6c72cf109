"""Stage 1 of RM-R1: supervised distillation of chain-of-rubrics traces (``rmr1 distill``).

One entry point — :func:`parse_args` + :func:`main`, like TRL's ``trl/scripts/sft.py`` — serves
the CLI (``rmr1 distill --config recipes/distill/tiny-cpu.yaml --learning_rate 1e-5``), notebook 03
and the tests. The YAML recipe holds the fields of three dataclasses: :class:`DistillScriptArguments`
(data and export), :class:`DistillConfig` (TRL ``SFTConfig`` plus our CPU and speed settings) and
TRL's ``ModelConfig`` (model, LoRA, 4/8-bit quantization). Unknown keys are an error.

What the trainer does:

* **Loss on the trace only.** Each released-format record becomes a conversational
  prompt/completion example (prompt = system + user, completion = the assistant trace), so TRL
  masks the prompt: only the trace and its end-of-turn token are supervised.
* **Shared-prompt prefill.** Every RM-R1 prompt starts with the same ~650-token system prompt. With
  ``share_prompt_prefix`` (default) a batch's common prefix runs through the model *once*, with
  gradients, and its KV cache is broadcast to every row — the loss and the gradients are the same
  as the plain forward (tested), and the prefix's compute is paid once per batch instead of once per
  row. Rows are batched by length (``train_sampling_strategy: group_by_length``) so padding stays small.
* **CPU-safe by default.** ``bf16`` and ``gradient_checkpointing`` default to ``None`` = automatic:
  bf16 and checkpointing on CUDA (bf16 only where supported), fp32 and no checkpointing on CPU,
  where bf16 is emulated (~4× slower) and memory is rarely the limit. Explicit values win.
* **Too-long traces are dropped, not truncated.** Truncating from the right would cut exactly the
  supervised part; the count of dropped records is reported.
* **Export.** The final model is written as a plain HF folder (``<output_dir>/final`` or
  ``export_dir``); LoRA/QLoRA adapters are merged into a full-precision copy of the base model, so
  ``rmr1 evaluate --model <folder>`` and the GRPO stage load it like any model.

How we differ from the paper: RM-R1 distils Qwen2.5-Instruct 7B–32B with full fine-tuning
(lr 5e-6, 1 epoch, global batch 128, max length 12288; recipe ``multi-gpu``). The course adds LoRA
and QLoRA recipes for one GPU and a ``tiny-cpu`` recipe on the embedded 135M model, which learns the
*format* of the chain of rubrics in minutes but not the judgement of a 7B teacher.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from trl import ModelConfig, SFTConfig, SFTTrainer, get_peft_config

from rmr1_utils.data import load_judge_tasks
from rmr1_utils.errors import RMR1Error
from rmr1_utils.export import train_and_export
from rmr1_utils.generation.kv_cache import common_prefix_length
from rmr1_utils.model_card import finish_export, prompt_style
from rmr1_utils.resources import resolve_data_path
from rmr1_utils.training import (
    RECIPES_ROOT,
    CPUSafeTrainingDefaults,
    PairOrderSampler,
    load_trainable_model,
    pair_groups,
    parse_trl_args,
    shared_prefix_inputs,
    stage_arguments,
    supervised_positions_only,
    write_report,
)

logger = logging.getLogger(__name__)

RECIPES_DIR = RECIPES_ROOT / "distill"


@dataclass
class DistillScriptArguments:
    """Data and export options of ``rmr1 distill``.

    Attributes:
        dataset_path: traces in the RM-R1 released SFT format (``context_messages`` ending with
            the assistant trace, ``winner``): a JSONL file or a folder with ``train.jsonl`` (what
            ``rmr1 distill-data`` writes). Relative paths are tried from the recipe's folder too.
        eval_dataset_path: optional held-out traces for eval loss.
        max_train_samples: use only the first N traces.
        export_dir: where the final plain HF model goes (default ``<output_dir>/final``).
        merge_lora: merge LoRA/QLoRA adapters into the base model for the export.
    """

    dataset_path: str = field(default="data/traces/cor_traces.jsonl", metadata={"help": "traces (released SFT format)"})
    eval_dataset_path: str | None = field(default=None, metadata={"help": "held-out traces for eval loss"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N traces"})
    export_dir: str | None = field(default=None, metadata={"help": "plain HF model folder (default <output_dir>/final)"})
    merge_lora: bool = field(default=True, metadata={"help": "merge adapters into the base model for the export"})


@dataclass
class DistillConfig(CPUSafeTrainingDefaults, SFTConfig):
    """TRL ``SFTConfig`` with automatic CPU-safe precision/checkpointing and the shared-prompt
    prefill (``share_prompt_prefix``, ``min_shared_prefix``; see the module docstring and
    :class:`~rmr1_utils.training.CPUSafeTrainingDefaults`)."""


def parse_args(args: Sequence[str] | None = None) -> tuple[DistillScriptArguments, DistillConfig, ModelConfig]:
    """Parse argv (``--config RECIPE.yaml`` plus ``--field value`` overrides); unknown keys fail.

    A recipe name without a path (``tiny-cpu``) is looked up in ``recipes/distill/``.
    """
    return parse_trl_args((DistillScriptArguments, DistillConfig, ModelConfig), "distill", args)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def traces_to_sft_examples(tasks: Sequence[dict], where: str = "traces") -> list[dict]:
    """Judge tasks with traces → conversational prompt/completion examples.

    Args:
        tasks: from :func:`rmr1_utils.data.load_judge_tasks`.
        where: the file name for error messages.

    Returns:
        ``{"id", "prompt": [system?, user], "completion": [assistant]}`` per task.

    Raises:
        RMR1Error: a task without a trace (names the file and the record).
    """
    examples = []
    for index, task in enumerate(tasks, 1):
        if not task.get("trace"):
            raise RMR1Error(
                f"{where}: record {index} ({task['id']}): no assistant trace to learn from "
                "(generate traces first: rmr1 distill-data)"
            )
        examples.append(
            {"id": task["id"], "prompt": task["messages"], "completion": [{"role": "assistant", "content": task["trace"]}]}
        )
    return examples


def load_sft_dataset(path: str, tokenizer, max_length: int | None, limit: int | None = None):
    """Traces → a ``datasets.Dataset`` of prompt/completion examples, dropping over-long ones.

    Args:
        path: traces file or folder (see :class:`DistillScriptArguments`).
        tokenizer: the training tokenizer (for lengths).
        max_length: the longest tokenised example kept (``None``: keep all).
        limit: only the first N traces.

    Returns:
        ``(dataset, dropped)``: the dataset and the number of examples dropped as too long.
    """
    from datasets import Dataset

    resolved = resolve_data_path(path)
    examples = traces_to_sft_examples(load_judge_tasks(resolved, limit=limit), where=str(resolved))
    kept, dropped = [], 0
    for example in examples:
        n = len(
            tokenizer.apply_chat_template(example["prompt"] + example["completion"], tokenize=True, return_dict=True)["input_ids"]
        )
        if max_length is not None and n > max_length:
            dropped += 1  # truncation would cut the supervised trace itself
            continue
        kept.append(example)
    if not kept:
        raise RMR1Error(f"{resolved}: no trace fits max_length={max_length} ({dropped} dropped)")
    if dropped:
        logger.warning("%s: dropped %d of %d traces longer than max_length=%s", resolved, dropped, len(examples), max_length)
    return Dataset.from_list(kept), dropped


# ---------------------------------------------------------------------------------------------
# Trainer
# ---------------------------------------------------------------------------------------------


def shared_prefix_length(input_ids, attention_mask, labels, minimum: int = 1) -> int:
    """Length of the prompt prefix every row of a right-padded batch shares, or 0.

    The prefix stops before the first supervised position of any row (its next-token label is
    computed from the prefix's last hidden state, which the shared pass does not score) and
    leaves at least one real token in every row.

    Args:
        input_ids, attention_mask, labels: ``(batch, length)`` tensors (right padding).
        minimum: return 0 when the prefix is shorter than this.

    Returns:
        The number of leading tokens to prefill once.
    """
    if input_ids.size(0) < 2:
        return 0
    same = (input_ids == input_ids[:1]).all(dim=0) & (attention_mask == 1).all(dim=0)
    differs = (~same).nonzero()
    common = int(differs[0]) if len(differs) else input_ids.size(1)
    supervised = (labels != -100).any(dim=0).nonzero()
    first_label = int(supervised[0]) if len(supervised) else input_ids.size(1)
    shortest = int(attention_mask.sum(dim=1).min())
    length = min(common, first_label - 1, shortest - 1)
    return length if length >= minimum else 0


@contextlib.contextmanager
def weighted_sides(model, side_ids: Sequence[int], weight: float):
    """Within the block, TRL's fused LM head returns the log-probs of side tokens times ``weight``.

    TRL's loss is ``-sum(log_probs) / tokens``, so this weights those tokens' loss (and gradient)
    by ``weight`` and leaves the metrics (token accuracy, entropy) as they are. ``weight == 1``
    changes nothing.
    """
    import torch

    if weight == 1.0:
        yield
        return
    forward = model.forward

    def weighted(*args, **kwargs):
        outputs = forward(*args, **kwargs)
        labels = kwargs.get("labels")
        if kwargs.get("fused_lm_head") and labels is not None:
            targets = labels[:, 1:]  # log_probs[:, t] scores labels[:, t + 1]
            sides = torch.isin(targets, torch.tensor(side_ids, device=targets.device))
            outputs.log_probs = outputs.log_probs * torch.where(sides, weight, 1.0).to(outputs.log_probs.dtype)
        return outputs

    model.forward = weighted
    try:
        yield
    finally:
        model.forward = forward


class DistillTrainer(SFTTrainer):
    """TRL ``SFTTrainer`` that prefills a batch's shared prompt prefix once.

    The prefix goes through the model with gradients; its KV cache is repeated for every row and
    the rows' suffixes attend to it. Everything else — the fused LM head that scores only
    supervised positions, loss normalisation, metrics, checkpointing — is TRL's own
    ``compute_loss``. Falls back to the plain path when sharing does not apply (one row, padding-
    free batches, gradient checkpointing, a prefix shorter than ``min_shared_prefix``).

    Attributes:
        shared_prefix_tokens_saved: prompt tokens not recomputed thanks to sharing (all steps).
    """

    shared_prefix_tokens_saved: int = 0
    #: Task ids of the training rows, in dataset order (set by :func:`main`; used by ``both_orders_in_batch``).
    row_ids: list[str] | None = None

    def _get_train_sampler(self, train_dataset=None):
        if not getattr(self.args, "both_orders_in_batch", False):
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.row_ids is None or len(self.row_ids) != len(dataset):
            raise RMR1Error("both_orders_in_batch needs the task ids of the training rows")
        lengths = [len(ids) for ids in dataset["input_ids"]]
        return PairOrderSampler(pair_groups(self.row_ids), lengths, self.args.per_device_train_batch_size, self.args.seed)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        args = self.args
        if (
            getattr(args, "share_prompt_prefix", False)
            and not args.gradient_checkpointing
            and "attention_mask" in inputs
            and "past_key_values" not in inputs
        ):
            length = shared_prefix_length(
                inputs["input_ids"], inputs["attention_mask"], inputs["labels"], minimum=getattr(args, "min_shared_prefix", 1)
            )
            if length:
                inputs = self._with_shared_prefix(model, inputs, length)
        weight = getattr(args, "side_token_weight", 1.0)
        with supervised_positions_only(), weighted_sides(self.accelerator.unwrap_model(model), self.side_token_ids(), weight):
            return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def side_token_ids(self) -> list[int]:
        """Token ids that name a side: ``A`` and ``B``, with and without a leading space."""
        if getattr(self, "_side_ids", None) is None:
            tokenizer = self.processing_class
            ids = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in ("A", "B", " A", " B")]
            self._side_ids = sorted({i[0] for i in ids if len(i) == 1})
        return self._side_ids

    def _with_shared_prefix(self, model, inputs: dict, length: int) -> dict:
        """The batch's inputs with its first ``length`` tokens run once (:func:`~rmr1_utils.training.shared_prefix_inputs`).

        With ``detach_shared_prefix`` and ``prefix_refresh_steps`` > 1 the prefix's cache is kept
        and reused by the next batches (cut to what they share with it) until it is that many
        optimizer steps old.
        """
        input_ids = inputs["input_ids"]
        args = self.args
        detach = getattr(args, "detach_shared_prefix", False)
        refresh = getattr(args, "prefix_refresh_steps", 1) if detach else 1
        key = tuple(input_ids[0, :length].tolist())
        cached = getattr(self, "_prefix_cache", None)  # (ids, step, cache) of the last recomputed prefix
        reuse = 0
        if cached is not None and self.model.training and self.state.global_step - cached[1] < refresh:
            reuse = common_prefix_length([cached[0], key])
        past = None
        if reuse >= getattr(args, "min_shared_prefix", 1):
            # The constant prefix of the last `refresh` steps, cut to what this batch shares with it;
            # the helper runs this batch's own shared tokens after it (e.g. the question both orders
            # of a pair share).
            past = copy.deepcopy(cached[2])
            past.crop(reuse)
        keep = past is None and refresh > 1 and self.model.training
        shared, prefix = shared_prefix_inputs(
            self.accelerator.unwrap_model(model), input_ids, inputs["attention_mask"], length,
            detach=detach, past_key_values=past, keep_prefix=keep,
        )  # fmt: skip
        if keep:
            self._prefix_cache = (key, self.state.global_step, prefix)
        if self.model.training:
            self.shared_prefix_tokens_saved += length * (input_ids.size(0) - 1)
        return {**inputs, **shared, "labels": inputs["labels"][:, length:]}


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def main(args=None, argv: Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 distill``.

    Args:
        args: argv list (``--config RECIPE.yaml`` + overrides), a tuple of the three parsed
            dataclasses, or ``None`` (read ``sys.argv``).
        argv: the equivalent command-line arguments when ``args`` are parsed dataclasses (the
            pipeline's), for the model card's command.

    Returns:
        ``{"export_dir", "train_loss", "log_history", "train_examples", "dropped_too_long",
        "trainable_parameters", "runtime_s", "card"}`` (``card``: the export's model card,
        :mod:`rmr1_utils.model_card`), and ``hub`` (repo id, commit) when ``push_to_hub`` pushed it.
    """
    (script_args, training_args, model_args), argv = stage_arguments(args, parse_args, argv)

    model, tokenizer = load_trainable_model(model_args, training_args)
    train_dataset, dropped = load_sft_dataset(
        script_args.dataset_path, tokenizer, training_args.max_length, limit=script_args.max_train_samples
    )
    eval_dataset = None
    if script_args.eval_dataset_path:
        eval_dataset, _ = load_sft_dataset(script_args.eval_dataset_path, tokenizer, training_args.max_length)
    if training_args.padding_free and not training_args.packing:
        training_args.max_length = None  # already enforced above by dropping; TRL asks for None here

    trainer = DistillTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
    )
    trainer.row_ids = list(train_dataset["id"])
    result, export_dir, trainable, ranks = train_and_export(
        trainer, training_args, model_args, script_args.export_dir, script_args.merge_lora
    )
    report = {
        "export_dir": str(export_dir),
        "train_loss": result.training_loss,
        "log_history": trainer.state.log_history,
        "train_examples": len(train_dataset),
        "dropped_too_long": dropped,
        "trainable_parameters": trainable,
        "ranks": ranks,
        "runtime_s": result.metrics.get("train_runtime"),
    }
    style = prompt_style(train_dataset[0]["prompt"])
    report.update(
        finish_export(
            trainer,
            "distill",
            (script_args, training_args, model_args),
            report,
            argv,
            style,
        )
    )
    write_report(trainer, training_args.output_dir, "distill_report.json", report)
    return report
