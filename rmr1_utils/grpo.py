"""Stage 2 of RM-R1: reinforcement learning with verifiable rewards, by GRPO (``rmr1 grpo``).

One entry point — :func:`parse_args` + :func:`main`, like TRL's ``trl/scripts/grpo.py`` — serves
the CLI (``rmr1 grpo --config recipes/grpo/tiny-cpu.yaml --max_steps 2``), notebook 04, the
pipeline and the tests. The YAML recipe holds the fields of :class:`GRPOScriptArguments` (data,
reward, export), :class:`RMR1GRPOConfig` (TRL ``GRPOConfig`` plus our CPU and speed settings) and
TRL's ``ModelConfig`` (model, LoRA, 4/8-bit quantization). Unknown keys are an error.

What the stage does:

* **The verifiable reward.** Each judge task (system + user prompt, labelled ``winner``) is
  rolled out ``num_generations`` times; :func:`rmr1_utils.rewards.rmr1_reward` gives +1 when the
  last 80 characters name the labelled winner, else −1. GRPO turns the group's rewards into
  advantages (reward − group mean, divided by the group's standard deviation).
* **An optional faithfulness term.** On judge tasks :func:`rmr1_utils.rewards.quote_faithfulness_penalty`
  (minus the share of the judgement's quotes not found in the response they name) is a second reward
  function, always logged as ``rewards/quote_faithfulness_penalty/mean``, added with the weight
  ``quote_faithfulness_weight`` (0 by default: the RM-R1 reward stays exact).
* **Truncated completions are kept in the loss** (``mask_truncated_completions: false``). A
  judgement cut off by ``max_completion_length`` has no verdict, so it scores −1: that −1 is the
  only signal against rambling and looping, the main failure of small judges, so we let it train.
  Masking them (DAPO's overlong filtering) suits tasks where a long answer can still be right;
  the truncation rate is logged every step as ``completions/clipped_ratio``.
* **Group rollouts that prefill each prompt once.** Without vLLM, TRL's default generation
  prefills every row of a group separately. :class:`~rmr1_utils.rollouts.GroupRollout` (a TRL ``rollout_func``)
  prefills the prompts' common prefix (the RM-R1 system prompt) once, each distinct prompt's
  remainder once, and repeats the KV cache for the group's samples; finished rows leave the
  batch. The sampling distribution is TRL's (same temperature/top-k/top-p/min-p/repetition
  penalty), checked by a test that recomputes the sampled tokens' log-probs with the trainer;
  the sampler is :mod:`rmr1_utils.rollouts`.
* **A shared-prompt loss forward.** The rows of a group share their whole prompt; with
  ``share_prompt_prefix`` the log-prob forward runs each group's prompt once, with gradients, and
  the completions attend to its repeated KV cache (same log-probs and gradients as the plain
  forward, tested) — the same helper as ``rmr1 distill`` (:func:`~rmr1_utils.training.shared_prefix_inputs`).
* **vLLM on GPU.** ``use_vllm: true`` with ``vllm_mode: colocate`` (one GPU, vLLM taking
  ``vllm_gpu_memory_utilization`` of it) or ``server`` (``trl vllm-serve --model …`` on its own GPU)
  replaces both rollout paths; vLLM is imported by TRL only then. A 4/8-bit (QLoRA) model works
  with colocate only, and a server is refused for it in one line (:func:`check_vllm_mode`).
* **Under FSDP** the group sampler is off (its data-dependent decoding would desynchronise the
  ranks' parameter gathers) and TRL's ``generate`` samples, with the ranks kept in step.

How we differ from the paper: RM-R1 runs GRPO in verl on 8×H100 (lr 1e-6, n = 7, low-variance KL
with coefficient 1e-3, no entropy bonus, temperature 1, constant lr, rollout batch 1024, prompts
up to 4096 and responses up to 8192 tokens). The ``multi-gpu`` recipe keeps those settings on TRL
with DeepSpeed ZeRO-3 and a vLLM server; the one-GPU recipes keep the algorithm with LoRA/QLoRA
and smaller batches; ``tiny-cpu`` runs a few steps on the 135M embedded model (no KL term, short
completions) so the whole course fits on a laptop — it exercises the mechanics, not the paper's gains.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trl import GRPOConfig, GRPOTrainer, ModelConfig, get_peft_config

from rmr1_utils import reasrm
from rmr1_utils.data import iter_jsonl, load_judge_tasks, read_jsonl
from rmr1_utils.errors import RMR1Error
from rmr1_utils.export import train_and_export
from rmr1_utils.generation import backend_for
from rmr1_utils.generation.interface import prompt_ids
from rmr1_utils.generation.vllm import vllm_available
from rmr1_utils.model_card import finish_export, prompt_style
from rmr1_utils.rating import RatingJudge, rating_reward
from rmr1_utils.resources import resolve_data_path
from rmr1_utils.rewards import quote_faithfulness_penalty
from rmr1_utils.rollouts import SUPPORTED_GENERATION_KWARGS, GroupRollout
from rmr1_utils.training import (
    RECIPES_ROOT,
    CPUSafeTrainingDefaults,
    load_trainable_model,
    pair_groups,
    pair_order_batches,
    parse_trl_args,
    quantization_of,
    sharded_training,
    shared_prefix_inputs,
    stage_arguments,
    summarize_log,
    supervised_positions_only,
    write_report,
)

logger = logging.getLogger(__name__)

RECIPES_DIR = RECIPES_ROOT / "grpo"


@dataclass
class GRPOScriptArguments:
    """Data, reward and export options of ``rmr1 grpo``.

    Attributes:
        dataset_path: judge tasks (``messages`` = system + user, ``winner``): a folder written by
            ``rmr1 prepare`` (its ``train.jsonl``), a JSONL/JSON file, or RM-R1's released format
            (a trailing assistant trace is ignored). Relative paths are tried from the repository too.
        dataset_split: which split of a ``rmr1 prepare`` folder to train on (e.g. ``grpo``: pairs kept
            apart from the distillation traces, so RL meets families the teacher never showed).
        eval_dataset_path: optional held-out judge tasks (the ``test`` split of a folder).
        max_train_samples: use only the first N tasks.
        max_prompt_length: drop tasks whose prompt is longer (tokens; the paper: 4096). Dropped,
            not truncated: a cut prompt loses one of the two responses.
        reward_funcs: reward functions by dotted path (TRL protocol), or a trained ReasRM as the
            reward of a *policy*: ``reasrm-reference`` (each sample vs the dataset's ``reference``,
            both orders), ``reasrm-round-robin`` / ``reasrm-knockout`` (a tournament within each
            group); see :mod:`rmr1_utils.reasrm`; ``reasrm-rating`` (each sample rated 1–10 on its
            own, reward (rating − 1) / 9; see :mod:`rmr1_utils.rating`).
        reasrm_judge: the ReasRM of ``reasrm-*`` rewards (model name or folder; the served model
            name with ``reasrm_judge_url``).
        reasrm_judge_url: an OpenAI-compatible server running the ReasRM (API key from ``OPENAI_API_KEY``).
        reasrm_judge_timeout: seconds a request to ``reasrm_judge_url`` may take to connect and per read/write.
        reasrm_judge_retries: retries of a request to ``reasrm_judge_url`` after 429, 5xx, timeouts,
            dropped connections or an unparsable answer.
        reasrm_max_new_tokens: judgement length cap.
        reasrm_cache: where judgements are cached across runs (``reasrm-rating`` keeps its ratings
            beside it, in ``<stem>.ratings.jsonl``).
        export_dir: where the final plain HF model goes (default ``<output_dir>/final``).
        quote_faithfulness_weight: judge tasks only: the weight of
            :func:`~rmr1_utils.rewards.quote_faithfulness_penalty` (minus the share of fabricated
            quotes), added to the other rewards. 0 by default, so the RM-R1 reward stays exact; the
            penalty is still computed and logged as its own reward column.
        merge_lora: merge LoRA/QLoRA adapters into the base model for the export.
    """

    dataset_path: str = field(default="data/traces/cor_traces.jsonl", metadata={"help": "judge tasks (file or folder)"})
    dataset_split: str = field(default="train", metadata={"help": "split of a `rmr1 prepare` folder to train on"})
    eval_dataset_path: str | None = field(default=None, metadata={"help": "held-out judge tasks"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N tasks"})
    max_prompt_length: int | None = field(default=4096, metadata={"help": "drop longer prompts (tokens)"})
    reward_funcs: list[str] = field(
        default_factory=lambda: ["rmr1_utils.rewards.rmr1_reward"],
        metadata={
            "help": "reward functions: dotted paths, or reasrm-reference / reasrm-round-robin / reasrm-knockout / reasrm-rating"
        },
    )
    reasrm_judge: str | None = field(default=None, metadata={"help": "the ReasRM for reasrm-* rewards (model or served name)"})
    reasrm_judge_url: str | None = field(default=None, metadata={"help": "OpenAI-compatible server running the ReasRM"})
    reasrm_judge_timeout: float = field(default=120.0, metadata={"help": "reasrm_judge_url: request timeout (seconds)"})
    reasrm_judge_retries: int = field(default=6, metadata={"help": "reasrm_judge_url: retries of a failed request"})
    reasrm_max_new_tokens: int = field(default=256, metadata={"help": "judgement length cap for reasrm-* rewards"})
    reasrm_cache: str | None = field(
        default=None, metadata={"help": "JSONL cache of judgements (default <output_dir>/judgements.jsonl)"}
    )
    export_dir: str | None = field(default=None, metadata={"help": "plain HF model folder (default <output_dir>/final)"})
    quote_faithfulness_weight: float = field(
        default=0.0,
        metadata={
            "help": "weight of the fabricated-quote penalty added to the verdict reward (judge tasks; 0: logged, "
            "reward unchanged)"
        },
    )
    merge_lora: bool = field(default=True, metadata={"help": "merge adapters into the base model for the export"})

    def __post_init__(self):
        # Checked when parsed, naming the flag, rather than when the first reward is computed.
        timeout = self.reasrm_judge_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
            raise RMR1Error(f"--reasrm_judge_timeout must be a finite number > 0, got {timeout!r}")
        weight = self.quote_faithfulness_weight
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise RMR1Error(f"--quote_faithfulness_weight must be a finite number >= 0, got {weight!r}")
        retries = self.reasrm_judge_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise RMR1Error(f"--reasrm_judge_retries must be an integer >= 0, got {retries!r}")


@dataclass
class RMR1GRPOConfig(CPUSafeTrainingDefaults, GRPOConfig):
    """TRL ``GRPOConfig`` with automatic CPU-safe precision and our rollout/loss speed-ups
    (the shared settings: :class:`~rmr1_utils.training.CPUSafeTrainingDefaults`).

    Attributes:
        group_rollout: without vLLM, sample with :class:`~rmr1_utils.rollouts.GroupRollout` (each prompt prefilled once).
        mask_truncated_completions: off on purpose (see the module docstring).

    ``share_prompt_prefix`` here runs each group's prompt once in the log-prob forward.
    """

    group_rollout: bool = field(default=True, metadata={"help": "prefill each prompt once for its group (no vLLM)"})
    mask_truncated_completions: bool = field(
        default=False, metadata={"help": "exclude truncated completions from the loss (see module docstring)"}
    )


# ---------------------------------------------------------------------------------------------
# Data and rewards
# ---------------------------------------------------------------------------------------------


def load_grpo_dataset(path: str, tokenizer, max_prompt_length: int | None, limit: int | None = None, split: str = "train"):
    """Judge tasks (training a ReasRM) or policy prompts (training a policy with a ReasRM reward)
    → a ``datasets.Dataset`` of conversational prompts.

    A JSONL file whose records have no ``winner`` but a ``prompt`` (a string or messages) holds
    policy prompts; their ``reference`` (or, for preference pairs, ``chosen``) becomes the
    ``reference`` column that ``reasrm-reference`` judges against.

    Args:
        path: judge tasks (see :class:`GRPOScriptArguments`).
        tokenizer: the policy's tokenizer (for prompt lengths).
        max_prompt_length: longest prompt kept, in tokens (``None``: keep all).
        limit: only the first N tasks that fit.
        split: the split of a ``rmr1 prepare`` folder.

    Returns:
        ``(dataset, dropped)``: columns ``prompt`` (messages), ``winner``, ``id``, ``domain``; and the
        number of tasks dropped as too long.
    """
    from datasets import Dataset

    resolved = resolve_data_path(path)
    tasks = _policy_prompts(resolved)
    if tasks is None:
        tasks = load_judge_tasks(resolved, split=split)
    kept, dropped = [], 0
    for task in tasks:
        if limit is not None and len(kept) >= limit:
            break
        if max_prompt_length is not None:
            if len(prompt_ids(tokenizer, task.get("messages") or task["prompt"])) > max_prompt_length:
                dropped += 1
                continue
        if "winner" in task:
            kept.append(
                {"prompt": task["messages"], "winner": task["winner"], "id": task["id"], "domain": task.get("domain", "")}
            )
        else:
            kept.append(task)
    if not kept:
        raise RMR1Error(f"{resolved}: no task fits max_prompt_length={max_prompt_length} ({dropped} dropped)")
    if dropped:
        logger.warning(
            "%s: dropped %d of %d tasks longer than max_prompt_length=%s", resolved, dropped, len(tasks), max_prompt_length
        )
    return Dataset.from_list(kept), dropped


def _policy_prompts(path: Path) -> list[dict] | None:
    """Policy prompts from a JSONL file (``None`` when the file holds judge tasks or is a folder).

    Only the first record is read to tell the two apart; judge-task files are then read once, by
    :func:`rmr1_utils.data.load_judge_tasks`.
    """
    if path.is_dir() or path.suffix != ".jsonl" or not path.exists():
        return None
    _, first, _ = next(iter_jsonl(path), (0, None, None))
    if not isinstance(first, dict) or "winner" in first or "context_messages" in first or "prompt" not in first:
        return None
    records = read_jsonl(path)
    out = []
    for k, r in enumerate(records, 1):
        prompt = r.get("prompt")
        if not prompt:
            raise RMR1Error(f"{path}: record {k}: no prompt")
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        row = {"prompt": messages, "id": str(r.get("id", k - 1)), "domain": r.get("domain", "")}
        reference = r.get("reference", r.get("chosen"))
        if reference is not None:
            row["reference"] = reference
        out.append(row)
    return out


def make_rewards(script_args: GRPOScriptArguments, output_dir: str, seed: int) -> list:
    """The reward functions of a run: dotted paths imported, ``reasrm-*`` built around one judge
    (one pairwise judge for the reference and tournament rewards, one rating judge for ``reasrm-rating``)."""
    rewards, judge, rater = [], None, None
    for name in script_args.reward_funcs:
        if not name.startswith("reasrm-"):
            rewards.append(import_reward(name))
            continue
        mode = name.removeprefix("reasrm-")
        if mode == "rating":
            rater = rater or _make_judge(script_args, output_dir, RatingJudge)
            rewards.append(rating_reward(rater))
            continue
        if mode not in ("reference", *reasrm.TOURNAMENTS):
            raise RMR1Error(
                f"unknown reward {name!r}: expected reasrm-reference, reasrm-round-robin, reasrm-knockout or reasrm-rating"
            )
        if judge is None:
            judge = _make_judge(script_args, output_dir)
        rewards.append(reasrm.reference_reward(judge) if mode == "reference" else reasrm.tournament_reward(judge, mode, seed))
    return rewards


def _make_judge(script_args: GRPOScriptArguments, output_dir: str, judge_class=reasrm.PairwiseJudge) -> reasrm.PairwiseJudge:
    if not script_args.reasrm_judge:
        raise RMR1Error("reasrm-* rewards need reasrm_judge (a ReasRM model, or the served model name with reasrm_judge_url)")
    if script_args.reasrm_judge_url:
        backend = backend_for(
            "openai",
            script_args.reasrm_judge,
            base_url=script_args.reasrm_judge_url,
            timeout=script_args.reasrm_judge_timeout,
            max_retries=script_args.reasrm_judge_retries,
        )
    else:
        backend = backend_for("transformers", script_args.reasrm_judge)
    cache = Path(script_args.reasrm_cache or Path(output_dir) / "judgements.jsonl")
    if judge_class is not reasrm.PairwiseJudge:  # a cache file holds one judge's answers (its identity says which)
        cache = cache.with_name(f"{cache.stem}.ratings.jsonl")
    return judge_class(backend, max_new_tokens=script_args.reasrm_max_new_tokens, cache_path=str(cache))


def import_reward(path: str):
    """A reward function from its dotted path (``rmr1_utils.rewards.rmr1_reward``).

    Raises:
        RMR1Error: the module or the function does not exist.
    """
    module, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise RMR1Error(
            f"reward function {path!r} not found (expected a dotted path such as rmr1_utils.rewards.rmr1_reward)"
        ) from None


# ---------------------------------------------------------------------------------------------
# Trainer: one prompt forward per group in the loss
# ---------------------------------------------------------------------------------------------


def prompt_groups(input_ids, attention_mask, prompt_length: int) -> list[list[int]]:
    """Rows whose prompt part (ids and mask) is identical, grouped, in order of first appearance.

    TRL shuffles a generation batch before splitting it into micro-batches, so a group's rows are
    rarely adjacent: grouping is by content, not position.
    """
    groups: dict[tuple, list[int]] = {}
    prompts, masks = input_ids[:, :prompt_length].tolist(), attention_mask[:, :prompt_length].tolist()
    for row, (ids, mask) in enumerate(zip(prompts, masks)):
        groups.setdefault((tuple(ids), tuple(mask)), []).append(row)
    return list(groups.values())


class RMR1GRPOTrainer(GRPOTrainer):
    """TRL ``GRPOTrainer`` whose log-prob forward runs each group's prompt once.

    A group's rows repeat the same left-padded prompt. For each set of rows with the same prompt
    in a forward chunk (wherever TRL's shuffle put them), the prompt (minus its last token) goes
    through the model once, with gradients when training; its KV cache is repeated for the rows,
    whose completions (plus the last prompt token, which predicts the first completion token) go
    through TRL's fused LM head. Rows alone with their prompt share one plain batched forward.
    Log-probs, entropies and gradients equal the plain forward's (tested). Falls back to TRL's
    forward for multimodal inputs, gradient checkpointing or ``share_prompt_prefix: false``.

    Attributes:
        shared_prefix_tokens_saved: prompt tokens not recomputed thanks to sharing.
    """

    shared_prefix_tokens_saved: int = 0

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, **multimodal):  # fmt: skip
        args = self.args
        prompt_length = input_ids.size(1) - logits_to_keep
        if (
            not getattr(args, "share_prompt_prefix", False)
            or args.gradient_checkpointing
            or compute_aux_loss
            or any(v is not None for v in multimodal.values())
            or prompt_length - 1 < getattr(args, "min_shared_prefix", 1)
        ):
            with supervised_positions_only():
                return super()._get_per_token_logps_and_entropies(
                    model, input_ids, attention_mask, logits_to_keep, batch_size, compute_entropy, compute_aux_loss, **multimodal
                )
        import torch

        batch_size = batch_size or input_ids.size(0)
        all_logps, all_entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            ids, mask = input_ids[start : start + batch_size], attention_mask[start : start + batch_size]
            groups = prompt_groups(ids, mask, prompt_length)
            singles = [g[0] for g in groups if len(g) == 1]
            order, logps, entropies = [], [], []
            for rows in [g for g in groups if len(g) > 1]:
                index = torch.tensor(rows, device=ids.device)
                lp, ent = self._shared_prompt_forward(model, ids[index], mask[index], prompt_length, logits_to_keep)
                order += rows
                logps.append(lp)
                entropies.append(ent)
            if singles:  # rows alone with their prompt: one plain batched forward
                index = torch.tensor(singles, device=ids.device)
                with supervised_positions_only():
                    lp, ent, _ = super()._get_per_token_logps_and_entropies(
                        model, ids[index], mask[index], logits_to_keep, compute_entropy=compute_entropy
                    )
                order += singles
                logps.append(lp)
                entropies.append(ent)
            back = torch.argsort(torch.tensor(order, device=ids.device))  # to the chunk's row order
            all_logps.append(torch.cat(logps)[back])
            if compute_entropy:
                all_entropies.append(torch.cat(entropies)[back])
        logps = torch.cat(all_logps, dim=0)
        entropies = torch.cat(all_entropies, dim=0) if compute_entropy else None
        return logps, entropies, None

    def _shared_prompt_forward(self, model, ids, mask, prompt_length: int, logits_to_keep: int):
        """Log-probs and entropies of rows that share one prompt, the prompt run once.

        The prompt minus its last token is the shared prefix
        (:func:`~rmr1_utils.training.shared_prefix_inputs`); the last prompt token stays with the
        completions, because it predicts the first completion token.
        """
        rows = ids.size(0)
        pad = int((mask[0, :prompt_length] == 0).sum())  # left padding, identical in every row of the run
        cut = prompt_length - 1
        with self.accelerator.autocast():
            inputs, _ = shared_prefix_inputs(
                self.accelerator.unwrap_model(model), ids, mask, cut, start=pad,
                detach=getattr(self.args, "detach_shared_prefix", False),
            )  # fmt: skip
        if model.training:
            self.shared_prefix_tokens_saved += (cut - pad) * (rows - 1)
        labels = inputs["input_ids"].masked_fill(mask[:, cut:] == 0, -100)
        labels[:, :1] = -100  # the last prompt token is context, not scored
        with self.accelerator.autocast():
            outputs = model(**inputs, labels=labels, fused_lm_head=True)
        logps = outputs.log_probs[:, -logits_to_keep:]
        entropy = outputs.entropy[:, -logits_to_keep:] if outputs.entropy is not None else None
        return logps, entropy


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def parse_args(args: Sequence[str] | None = None) -> tuple[GRPOScriptArguments, RMR1GRPOConfig, ModelConfig]:
    """Parse argv (``--config RECIPE.yaml`` plus ``--field value`` overrides); unknown keys fail.

    A recipe name without a path (``tiny-cpu``) is looked up in ``recipes/grpo/``.
    """
    return parse_trl_args((GRPOScriptArguments, RMR1GRPOConfig, ModelConfig), "grpo", args)


def check_generation_kwargs(config: RMR1GRPOConfig) -> None:
    """Fail early when :class:`~rmr1_utils.rollouts.GroupRollout` would not reproduce the requested sampling.

    Args:
        config: the run's trainer config.

    Raises:
        RMR1Error: a ``generation_kwargs`` key the group rollout does not reproduce.
    """
    extra = set(config.generation_kwargs or {}) - SUPPORTED_GENERATION_KWARGS
    if config.group_rollout and not config.use_vllm and extra:
        raise RMR1Error(
            f"generation_kwargs {sorted(extra)} are not reproduced by the group rollout; set group_rollout: false "
            "to sample with TRL's generate instead"
        )


def check_vllm_mode(config: RMR1GRPOConfig, model_args: ModelConfig) -> None:
    """Fail early, in one line, on vLLM settings that cannot work.

    Raises:
        RMR1Error: vLLM is not installed; or a 4/8-bit (QLoRA) model with a vLLM *server* — TRL
            cannot send quantized weights to a server (only ``vllm_mode: colocate`` loads the base
            quantized in the same process and merges the adapters into it).
    """
    if not config.use_vllm:
        return
    if config.vllm_mode == "server" and quantization_of(model_args):
        raise RMR1Error(
            "vllm_mode: server cannot serve a 4/8-bit (QLoRA) model: use vllm_mode: colocate (vLLM in the training "
            "process, sharing the GPU: set vllm_gpu_memory_utilization), or train without load_in_4bit/load_in_8bit"
        )
    if not vllm_available():
        raise RMR1Error("use_vllm: true needs vLLM (GPU machines: pip install -e .[gpu]); or set use_vllm: false")


def build_trainer(script_args: GRPOScriptArguments, training_args: RMR1GRPOConfig, model_args: ModelConfig, callbacks=None):
    """The model, data, rewards and trainer of a run, ready to ``train()``.

    Args:
        script_args, training_args, model_args: the parsed arguments.
        callbacks: extra ``TrainerCallback`` objects (e.g. a held-out evaluation every N steps).

    Returns:
        ``(trainer, dropped)``: the trainer and the number of tasks dropped as too long.
    """
    check_generation_kwargs(training_args)
    check_vllm_mode(training_args, model_args)
    model, tokenizer = load_trainable_model(model_args, training_args)
    train_dataset, dropped = load_grpo_dataset(
        script_args.dataset_path,
        tokenizer,
        script_args.max_prompt_length,
        limit=script_args.max_train_samples,
        split=script_args.dataset_split,
    )
    if training_args.both_orders_in_batch:
        # Both orders of a pair in one generation batch: order the rows pair by pair (seeded) and
        # let TRL's sampler take them as they come (it shuffles otherwise).
        prompts_per_batch = training_args.generation_batch_size // training_args.num_generations
        order = pair_order_batches(
            pair_groups(train_dataset["id"]), [0] * len(train_dataset), prompts_per_batch, training_args.seed
        )
        train_dataset = train_dataset.select(order)
        training_args.shuffle_dataset = False
    eval_dataset = None
    if script_args.eval_dataset_path:
        eval_dataset, _ = load_grpo_dataset(script_args.eval_dataset_path, tokenizer, script_args.max_prompt_length, split="test")
    reward_funcs = make_rewards(script_args, training_args.output_dir, training_args.seed)
    if (
        "winner" in train_dataset.column_names and quote_faithfulness_penalty not in reward_funcs
    ):  # judge tasks: log (and optionally add) the fabricated-quote penalty
        weights = list(training_args.reward_weights or [1.0] * len(reward_funcs))
        reward_funcs.append(quote_faithfulness_penalty)
        training_args.reward_weights = [*weights, float(script_args.quote_faithfulness_weight)]
    rollout = None
    if training_args.group_rollout and not training_args.use_vllm:
        if sharded_training(training_args) == "fsdp":
            # FSDP gathers each layer's weights collectively at every forward: the group sampler's
            # data-dependent number of decoding steps would leave the ranks waiting on each other.
            # TRL's generate keeps them in step (synced_gpus).
            logger.warning("group_rollout is off under FSDP: rollouts use TRL's generate, which keeps the ranks in step")
        else:
            rollout = GroupRollout(seed=training_args.seed, min_shared_prefix=training_args.min_shared_prefix)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is "experimental" in TRL 1.16
    trainer = RMR1GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        rollout_func=rollout,
        callbacks=callbacks,
    )
    return trainer, dropped


def main(args=None, callbacks=None, argv: Sequence[str] | None = None) -> dict:
    """Entry point of ``rmr1 grpo``.

    Args:
        args: argv list (``--config RECIPE.yaml`` + overrides), a tuple of the three parsed
            dataclasses, or ``None`` (read ``sys.argv``).
        argv: the equivalent command-line arguments when ``args`` are parsed dataclasses (the
            pipeline's), for the model card's command.
        callbacks: extra ``TrainerCallback`` objects (the pipeline's held-out evaluation).

    Returns:
        ``{"export_dir", "log_history", "summary", "train_tasks", "dropped_too_long",
        "trainable_parameters", "runtime_s", "rollout", "card"}`` (``card``: the export's model card,
        :mod:`rmr1_utils.model_card`), ``hub`` (repo id, commit) when ``push_to_hub`` pushed it;
        also written to ``<output_dir>/grpo_report.json``.
    """
    (script_args, training_args, model_args), argv = stage_arguments(args, parse_args, argv)
    trainer, dropped = build_trainer(script_args, training_args, model_args, callbacks)
    result, export_dir, trainable, ranks = train_and_export(
        trainer, training_args, model_args, script_args.export_dir, script_args.merge_lora
    )
    rollout = trainer.rollout_func
    report = {
        "export_dir": str(export_dir),
        "log_history": trainer.state.log_history,
        "summary": summarize_log(trainer.state.log_history),
        "train_tasks": len(trainer.train_dataset),
        "dropped_too_long": dropped,
        "trainable_parameters": trainable,
        "ranks": ranks,
        "runtime_s": result.metrics.get("train_runtime"),
        "rollout": "vllm" if training_args.use_vllm else ("group" if rollout is not None else "trl"),
        "shared_prefix_tokens_saved": trainer.shared_prefix_tokens_saved,
    }
    if rollout is not None:
        report["prefill_tokens"] = {"group": rollout.prefill_tokens, "per_row": rollout.prompt_tokens}
    style = prompt_style(trainer.train_dataset[0]["prompt"])
    report.update(
        finish_export(
            trainer,
            "grpo",
            (script_args, training_args, model_args),
            report,
            argv,
            style,
        )
    )
    write_report(trainer, training_args.output_dir, "grpo_report.json", report)
    return report
