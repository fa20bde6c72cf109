"""Stage 2 of RM-R1: reinforcement learning with verifiable rewards, by GRPO (``rmr1 grpo``).

One entry point — :func:`make_parser` + :func:`main`, like TRL's ``trl/scripts/grpo.py`` — serves
the CLI (``rmr1 grpo --config recipes/grpo/tiny-cpu.yaml --max_steps 2``), notebook 04, the
pipeline and the tests. The YAML recipe holds the fields of :class:`GRPOScriptArguments` (data,
reward, export), :class:`RMR1GRPOConfig` (TRL ``GRPOConfig`` plus our CPU and speed settings) and
TRL's ``ModelConfig`` (model, LoRA, 4/8-bit quantization). Unknown keys are an error.

What the stage does:

* **The verifiable reward.** Each judge task (system + user prompt, labelled ``winner``) is
  rolled out ``num_generations`` times; :func:`rmr1_utils.rewards.rmr1_reward` gives +1 when the
  last 80 characters name the labelled winner, else −1. GRPO turns the group's rewards into
  advantages (reward − group mean, divided by the group's standard deviation).
* **Truncated completions are kept in the loss** (``mask_truncated_completions: false``). A
  judgement cut off by ``max_completion_length`` has no verdict, so it scores −1: that −1 is the
  only signal against rambling and looping, the main failure of small judges, so we let it train.
  Masking them (DAPO's overlong filtering) suits tasks where a long answer can still be right;
  the truncation rate is logged every step as ``completions/clipped_ratio``.
* **Group rollouts that prefill each prompt once.** Without vLLM, TRL's default generation
  prefills every row of a group separately. :class:`GroupRollout` (a TRL ``rollout_func``)
  prefills the prompts' common prefix (the RM-R1 system prompt) once, each distinct prompt's
  remainder once, and repeats the KV cache for the group's samples; finished rows leave the
  batch. The sampling distribution is TRL's (same temperature/top-k/top-p/min-p/repetition
  penalty), checked by a test that recomputes the sampled tokens' log-probs with the trainer.
* **A shared-prompt loss forward.** The rows of a group share their whole prompt; with
  ``share_prompt_prefix`` the log-prob forward runs each group's prompt once, with gradients, and
  the completions attend to its repeated KV cache (same log-probs and gradients as the plain
  forward, tested) — the same idea as ``rmr1 distill``.
* **vLLM on GPU.** ``use_vllm: true`` with ``vllm_mode: colocate`` (one GPU) or ``server``
  (``trl vllm-serve --model …`` on its own GPU) replaces both rollout paths; vLLM is imported by
  TRL only then.

How we differ from the paper: RM-R1 runs GRPO in verl on 8×H100 (lr 1e-6, n = 7, low-variance KL
with coefficient 1e-3, no entropy bonus, temperature 1, constant lr, rollout batch 1024, prompts
up to 4096 and responses up to 8192 tokens). The ``multi-gpu`` recipe keeps those settings on TRL
with DeepSpeed ZeRO-3 and a vLLM server; the one-GPU recipes keep the algorithm with LoRA/QLoRA
and smaller batches; ``tiny-cpu`` runs a few steps on the 135M embedded model (no KL term, short
completions) so the whole course fits on a laptop — it exercises the mechanics, not the paper's gains.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trl import GRPOConfig, GRPOTrainer, ModelConfig

from rmr1_utils.errors import RMR1Error
from rmr1_utils.training import (
    RECIPES_ROOT,
    CPUSafeTrainingDefaults,
    load_trainable_model,
    pair_groups,
    pair_order_batches,
    parse_trl_args,
    resolve_data_path,
    stage_arguments,
    summarize_log,
    train_and_export,
    write_report,
)

logger = logging.getLogger(__name__)

RECIPES_DIR = RECIPES_ROOT / "grpo"

#: Sampling settings :class:`GroupRollout` reproduces exactly; any other ``generation_kwargs`` key
#: needs TRL's own generation (``group_rollout: false``).
SUPPORTED_GENERATION_KWARGS = frozenset({"temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens"})


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
            group); see :mod:`rmr1_utils.reasrm`.
        reasrm_judge: the ReasRM of ``reasrm-*`` rewards (model name or folder; the served model
            name with ``reasrm_judge_url``).
        reasrm_judge_url: an OpenAI-compatible server running the ReasRM (API key from ``OPENAI_API_KEY``).
        reasrm_judge_timeout: seconds a request to ``reasrm_judge_url`` may take to connect and per read/write.
        reasrm_judge_retries: retries of a request to ``reasrm_judge_url`` after 429, 5xx, timeouts,
            dropped connections or an unparsable answer.
        reasrm_max_new_tokens: judgement length cap.
        reasrm_cache: where judgements are cached across runs.
        export_dir: where the final plain HF model goes (default ``<output_dir>/final``).
        merge_lora: merge LoRA/QLoRA adapters into the base model for the export.
    """

    dataset_path: str = field(default="data/traces/cor_traces.jsonl", metadata={"help": "judge tasks (file or folder)"})
    dataset_split: str = field(default="train", metadata={"help": "split of a `rmr1 prepare` folder to train on"})
    eval_dataset_path: str | None = field(default=None, metadata={"help": "held-out judge tasks"})
    max_train_samples: int | None = field(default=None, metadata={"help": "use only the first N tasks"})
    max_prompt_length: int | None = field(default=4096, metadata={"help": "drop longer prompts (tokens)"})
    reward_funcs: list[str] = field(
        default_factory=lambda: ["rmr1_utils.rewards.rmr1_reward"],
        metadata={"help": "reward functions: dotted paths, or reasrm-reference / reasrm-round-robin / reasrm-knockout"},
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
    merge_lora: bool = field(default=True, metadata={"help": "merge adapters into the base model for the export"})

    def __post_init__(self):
        # Checked when parsed, naming the flag, rather than when the first reward is computed.
        timeout = self.reasrm_judge_timeout
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
            raise RMR1Error(f"--reasrm_judge_timeout must be a finite number > 0, got {timeout!r}")
        retries = self.reasrm_judge_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise RMR1Error(f"--reasrm_judge_retries must be an integer >= 0, got {retries!r}")


@dataclass
class RMR1GRPOConfig(CPUSafeTrainingDefaults, GRPOConfig):
    """TRL ``GRPOConfig`` with automatic CPU-safe precision and our rollout/loss speed-ups
    (the shared settings: :class:`~rmr1_utils.training.CPUSafeTrainingDefaults`).

    Attributes:
        group_rollout: without vLLM, sample with :class:`GroupRollout` (each prompt prefilled once).
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

    from rmr1_utils.data import load_judge_tasks
    from rmr1_utils.generation.interface import prompt_ids

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
    from rmr1_utils.data import iter_jsonl, read_jsonl

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
    """The reward functions of a run: dotted paths imported, ``reasrm-*`` built around one judge."""
    rewards, judge = [], None
    for name in script_args.reward_funcs:
        if not name.startswith("reasrm-"):
            rewards.append(import_reward(name))
            continue
        from rmr1_utils import reasrm

        mode = name.removeprefix("reasrm-")
        if mode not in ("reference", *reasrm.TOURNAMENTS):
            raise RMR1Error(f"unknown reward {name!r}: expected reasrm-reference, reasrm-round-robin or reasrm-knockout")
        if judge is None:
            judge = _make_judge(script_args, output_dir)
        rewards.append(reasrm.reference_reward(judge) if mode == "reference" else reasrm.tournament_reward(judge, mode, seed))
    return rewards


def _make_judge(script_args: GRPOScriptArguments, output_dir: str):
    from rmr1_utils.generation import backend_for
    from rmr1_utils.reasrm import PairwiseJudge

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
    cache = script_args.reasrm_cache or str(Path(output_dir) / "judgements.jsonl")
    return PairwiseJudge(backend, max_new_tokens=script_args.reasrm_max_new_tokens, cache_path=cache)


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
# Group rollouts: each prompt prefilled once
# ---------------------------------------------------------------------------------------------


@dataclass
class SamplingSettings:
    """The sampling distribution of a rollout — TRL's ``GenerationConfig`` fields we reproduce.

    Attributes:
        max_new_tokens: completion length cap.
        temperature: softmax temperature (> 0: GRPO samples).
        top_k: keep the k most likely tokens (0 = off).
        top_p: nucleus mass (1.0 = off).
        min_p: drop tokens below ``min_p`` × the top probability (``None`` = off).
        repetition_penalty: CTRL-style penalty on tokens already in the sequence (1.0 = off).
    """

    max_new_tokens: int
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    min_p: float | None = None
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.temperature <= 0:
            raise ValueError(f"GRPO rollouts sample: temperature must be > 0, got {self.temperature}")

    @classmethod
    def from_generation_config(cls, config) -> SamplingSettings:
        """The settings of a ``transformers.GenerationConfig`` (what TRL's trainer samples with)."""
        return cls(
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature if config.temperature is not None else 1.0,
            top_k=config.top_k or 0,
            top_p=config.top_p if config.top_p is not None else 1.0,
            min_p=config.min_p,
            repetition_penalty=config.repetition_penalty if config.repetition_penalty is not None else 1.0,
        )

    def logits_processors(self):
        """HF's own processors, in HF's order: repetition penalty, temperature, top-k, top-p, min-p."""
        from transformers.generation.logits_process import (
            LogitsProcessorList,
            MinPLogitsWarper,
            RepetitionPenaltyLogitsProcessor,
            TemperatureLogitsWarper,
            TopKLogitsWarper,
            TopPLogitsWarper,
        )

        processors = LogitsProcessorList()
        if self.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(self.repetition_penalty))
        if self.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(self.temperature))
        if self.top_k:
            processors.append(TopKLogitsWarper(self.top_k))
        if self.top_p < 1.0:
            processors.append(TopPLogitsWarper(self.top_p))
        if self.min_p is not None:
            processors.append(MinPLogitsWarper(self.min_p))
        return processors


def sample_groups(
    model,
    prompt_ids: Sequence[Sequence[int]],
    settings: SamplingSettings,
    eos_token_ids: Sequence[int],
    generator=None,
    min_shared_prefix: int = 32,
) -> tuple[list[list[int]], list[list[float]]]:
    """Sample one completion per prompt row, prefilling each distinct prompt once.

    Rows with identical prompts (a GRPO group) share one prefill of that prompt; the prefix all
    prompts share (the system prompt) is prefilled once for all and, on ``sdpa`` attention, kept
    once in the cache (:mod:`rmr1_utils.prefix_attention`). Each prompt's own part of the cache is
    then repeated for its rows, and decoding drops rows as they finish.

    Args:
        model: a causal LM (plain or PEFT), in inference mode under ``torch.no_grad``.
        prompt_ids: token ids per row (a group's rows repeat the same ids).
        settings: the sampling distribution.
        eos_token_ids: tokens that end a completion (kept in it).
        generator: a seeded ``torch.Generator`` (``None``: the global RNG).
        min_shared_prefix: shortest all-prompt prefix worth a separate prefill.

    Returns:
        ``(completion_ids, logprobs)`` per row: the sampled tokens and, for each, its log-prob
        under ``log_softmax(logits / temperature)`` — the quantity GRPO's loss recomputes.
    """
    import torch

    from rmr1_utils.generation.kv_cache import common_prefix_length, gqa_decoding
    from rmr1_utils.prefix_attention import shared_prefix_cache, shared_prefix_decoding, supports_shared_prefix

    device = next(model.parameters()).device
    distinct: dict[tuple[int, ...], int] = {}
    row_source = [distinct.setdefault(tuple(ids), len(distinct)) for ids in prompt_ids]
    prompts = [list(ids) for ids in distinct]
    if any(len(p) == 0 for p in prompts):
        raise ValueError("empty prompt")

    # 1. The prefix every distinct prompt shares, once (leave each prompt at least one token).
    shared = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1) if len(prompts) > 1 else 0
    if shared < min_shared_prefix:
        shared = 0
    cache, attention, shared_cache = None, gqa_decoding(model), None
    if shared:
        with gqa_decoding(model):
            cache = model(
                input_ids=torch.tensor([prompts[0][:shared]], device=device), use_cache=True, logits_to_keep=1
            ).past_key_values
        width = max(len(p) - shared for p in prompts)
        if supports_shared_prefix(model):  # the prefix once for every row (see rmr1_utils.prefix_attention)
            shared_cache = shared_prefix_cache(cache, len(prompts), width + settings.max_new_tokens)
        if shared_cache is not None:
            cache, attention = shared_cache, shared_prefix_decoding(model, shared_cache)
        else:
            cache.reorder_cache(torch.zeros(len(prompts), dtype=torch.long, device=device))  # one copy per distinct prompt
    with attention:
        return _decode_groups(model, prompts, row_source, prompt_ids, shared, cache, shared_cache is None, settings,
                              eos_token_ids, generator)  # fmt: skip


def _decode_groups(model, prompts, row_source, prompt_ids, shared, cache, preallocate, settings, eos_token_ids, generator):
    import torch

    from rmr1_utils.generation.kv_cache import preallocate_cache

    device = next(model.parameters()).device

    # 2. Each distinct prompt's remainder, once. Pads sit between the shared prefix and the
    #    remainder (hidden by the mask; positions skip them), so the prefix keeps its positions.
    suffixes = [p[shared:] for p in prompts]
    width = max(len(s) for s in suffixes)
    n = len(prompts)
    input_ids = torch.zeros((n, width), dtype=torch.long)
    mask = torch.zeros((n, shared + width), dtype=torch.long)
    mask[:, :shared] = 1
    positions = torch.ones((n, width), dtype=torch.long)
    for k, s in enumerate(suffixes):
        input_ids[k, width - len(s) :] = torch.tensor(s)
        mask[k, shared + width - len(s) :] = 1
        positions[k, width - len(s) :] = torch.arange(shared, shared + len(s))
    input_ids, mask, positions = input_ids.to(device), mask.to(device), positions.to(device)
    out = model(
        input_ids=input_ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True, logits_to_keep=1
    )
    cache = out.past_key_values

    # 3. Repeat each prompt's cache for its rows, then decode; finished rows leave the batch.
    rows = torch.tensor(row_source, device=device)
    cache.reorder_cache(rows)  # row -> its prompt's cache (repeats a group's)
    if preallocate:
        cache = preallocate_cache(cache, settings.max_new_tokens)
    logits = out.logits[:, -1, :][rows]
    mask = mask[rows]
    next_position = (positions[:, -1] + 1)[rows]
    processors = settings.logits_processors()
    history = None
    if settings.repetition_penalty != 1.0:
        # The penalty looks at every token so far (prompt included). Rows are left-filled with their
        # own first token: it is in the sequence anyway, so the penalised set is unchanged.
        longest = max(len(ids) for ids in prompt_ids)
        history = torch.tensor([[ids[0]] * (longest - len(ids)) + list(ids) for ids in prompt_ids], device=device)
    eos = torch.tensor(sorted(set(eos_token_ids)), device=device)
    alive = torch.arange(len(row_source), device=device)
    completions: list[list[int]] = [[] for _ in row_source]
    logprobs: list[list[float]] = [[] for _ in row_source]
    for step in range(settings.max_new_tokens):
        logits = logits.float()
        token_logprobs = torch.log_softmax(logits / settings.temperature, dim=-1)
        scores = processors(history, logits) if processors else logits
        probs = torch.softmax(scores, dim=-1)
        tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        chosen = token_logprobs.gather(1, tokens.unsqueeze(1)).squeeze(1)
        for r, t, lp in zip(alive.tolist(), tokens.tolist(), chosen.tolist()):
            completions[r].append(t)
            logprobs[r].append(lp)
        finished = torch.isin(tokens, eos)
        if step == settings.max_new_tokens - 1 or bool(finished.all()):
            break
        if bool(finished.any()):
            keep = (~finished).nonzero().squeeze(1)
            cache.reorder_cache(keep)
            alive, tokens, mask, next_position = alive[keep], tokens[keep], mask[keep], next_position[keep]
            if history is not None:
                history = history[keep]
        if history is not None:
            history = torch.cat([history, tokens.unsqueeze(1)], dim=1)
        mask = torch.cat([mask, torch.ones((mask.size(0), 1), dtype=mask.dtype, device=device)], dim=1)
        out = model(
            input_ids=tokens.unsqueeze(1), attention_mask=mask, position_ids=next_position.unsqueeze(1),
            past_key_values=cache, use_cache=True,
        )  # fmt: skip
        cache = out.past_key_values
        logits = out.logits[:, -1, :]
        next_position = next_position + 1
    return completions, logprobs


def group_advantages(rewards: Sequence[float], group_size: int, scale: bool = True) -> list[float]:
    """GRPO's group-relative advantages: each reward minus its group's mean, over the group's std.

    Groups are consecutive runs of ``group_size`` rewards (the trainer's layout). Like TRL with
    ``scale_rewards: group``, the std is the unbiased one and ``1e-4`` keeps it from being zero.

    Args:
        rewards: one reward per completion.
        group_size: completions per prompt.
        scale: divide by the group's std (``False``: Dr. GRPO's unscaled advantages).

    Returns:
        One advantage per completion.
    """
    import statistics

    if len(rewards) % group_size:
        raise ValueError(f"{len(rewards)} rewards do not split into groups of {group_size}")
    out = []
    for start in range(0, len(rewards), group_size):
        group = list(rewards[start : start + group_size])
        mean = sum(group) / len(group)
        std = statistics.stdev(group) if len(group) > 1 else 0.0
        out += [(r - mean) / (std + 1e-4) if scale else r - mean for r in group]
    return out


def sample_group_records(
    model, tokenizer, tasks: Sequence[dict], num_generations: int, settings: SamplingSettings, seed: int = 0, reward=None
) -> list[dict]:
    """Roll out GRPO groups for judge tasks and score them, for looking at (the rollout viewer).

    Args:
        model: the policy.
        tokenizer: its tokenizer.
        tasks: judge tasks (``messages`` or ``prompt``, ``winner``, ``id``, ``domain``).
        num_generations: samples per task.
        settings: the sampling distribution.
        seed: generator seed.
        reward: a TRL reward function (default :func:`rmr1_utils.rewards.rmr1_reward`).

    Returns:
        One record per task: ``id``, ``domain``, ``winner``, ``prompt`` (messages) and
        ``samples`` — ``text``, ``reward``, ``advantage``, ``verdict``, ``tokens``, ``finished``.
    """
    import torch

    from rmr1_utils.generation.interface import eos_token_ids, prompt_ids
    from rmr1_utils.judgement import parse_judgement
    from rmr1_utils.rewards import rmr1_reward

    reward = reward or rmr1_reward
    prompts = [t.get("prompt") or t["messages"] for t in tasks]
    rows = [prompt_ids(tokenizer, p) for p in prompts for _ in range(num_generations)]
    eos = eos_token_ids(model, tokenizer)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        completions, _ = sample_groups(model, rows, settings, eos, generator=generator)
    texts = tokenizer.batch_decode(completions, skip_special_tokens=True)
    winners = [t["winner"] for t in tasks for _ in range(num_generations)]
    rewards = reward(texts, winner=winners)
    advantages = group_advantages(rewards, num_generations)
    records = []
    for k, task in enumerate(tasks):
        samples = []
        for j in range(k * num_generations, (k + 1) * num_generations):
            samples.append({
                "text": texts[j], "reward": rewards[j], "advantage": advantages[j],
                "verdict": parse_judgement(texts[j]).verdict, "tokens": len(completions[j]),
                "finished": bool(completions[j]) and completions[j][-1] in eos,
            })  # fmt: skip
        records.append({"id": task.get("id"), "domain": task.get("domain"), "winner": task["winner"], "prompt": prompts[k],
                        "samples": samples})  # fmt: skip
    return records


class GroupRollout:
    """A TRL ``rollout_func`` that samples GRPO groups with :func:`sample_groups`.

    TRL hands it the process's prompts (each repeated once per sample of its group) and the
    trainer; it tokenises them exactly as the trainer does, samples with the trainer's generation
    settings and a generator seeded by ``(seed, global step, call)``, and returns the prompt ids,
    completion ids and sampling log-probs TRL expects.

    Args:
        seed: the run's seed.
        min_shared_prefix: shortest all-prompt prefix worth a separate prefill.

    Attributes:
        calls: rollouts done (for the generator seed).
        prefill_tokens: prompt tokens prefilled (for the benchmark and the notebook).
        prompt_tokens: prompt tokens TRL's default path would have prefilled.
    """

    def __init__(self, seed: int = 0, min_shared_prefix: int = 32):
        self.seed = seed
        self.min_shared_prefix = min_shared_prefix
        self.calls = 0
        self.prefill_tokens = 0
        self.prompt_tokens = 0

    def __call__(self, prompts: list, trainer) -> dict:
        import torch
        from trl.models.utils import unwrap_model_for_generation

        prompt_ids, _, _ = trainer._tokenize_prompts(prompts)
        prompt_ids = [list(ids) for ids in prompt_ids]
        settings = SamplingSettings.from_generation_config(trainer.generation_config)
        device = trainer.accelerator.device
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed * 1_000_003 + trainer.state.global_step * 1_009 + self.calls)
        self.calls += 1
        distinct = {tuple(ids) for ids in prompt_ids}
        self.prompt_tokens += sum(len(ids) for ids in prompt_ids)
        self.prefill_tokens += sum(len(ids) for ids in distinct)
        with (
            unwrap_model_for_generation(
                trainer.model_wrapped, trainer.accelerator, gather_deepspeed3_params=trainer.args.ds3_gather_for_generation
            ) as model,
            torch.no_grad(),
        ):
            completion_ids, logprobs = sample_groups(
                model, prompt_ids, settings, trainer.eos_token_ids, generator=generator, min_shared_prefix=self.min_shared_prefix
            )
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": logprobs}


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
        import torch

        rows = ids.size(0)
        pad = int((mask[0, :prompt_length] == 0).sum())  # left padding, identical in every row of the run
        cut = prompt_length - 1  # the last prompt token predicts the first completion token: keep it
        # The prompt pass runs on the unwrapped model: under DDP the completion pass (through the
        # wrapper) owns the gradient hooks, and autograd sums both passes' gradients before them.
        prompt_model = self.accelerator.unwrap_model(model)
        # With detach_shared_prefix the prompt is a constant context: no graph is kept for it.
        detach = torch.no_grad() if getattr(self.args, "detach_shared_prefix", False) else contextlib.nullcontext()
        with self.accelerator.autocast(), detach:
            prefix = prompt_model(
                input_ids=ids[:1, pad:cut], position_ids=torch.arange(pad, cut, device=ids.device).unsqueeze(0),
                use_cache=True, logits_to_keep=1,
            )  # fmt: skip
            cache = prefix.past_key_values
            cache.reorder_cache(torch.zeros(rows, dtype=torch.long, device=ids.device))
        if model.training:
            self.shared_prefix_tokens_saved += (cut - pad) * (rows - 1)
        suffix_ids = ids[:, cut:]
        suffix_mask = mask[:, cut:]
        labels = suffix_ids.masked_fill(suffix_mask == 0, -100)
        labels[:, :1] = -100  # the last prompt token is context, not scored
        full_mask = torch.cat([torch.ones((rows, cut - pad), dtype=mask.dtype, device=mask.device), suffix_mask], dim=1)
        positions = torch.arange(cut, ids.size(1), device=ids.device).unsqueeze(0).expand(rows, -1)
        with self.accelerator.autocast():
            outputs = model(
                input_ids=suffix_ids, attention_mask=full_mask, position_ids=positions, past_key_values=cache,
                labels=labels, fused_lm_head=True,
            )  # fmt: skip
        logps = outputs.log_probs[:, -logits_to_keep:]
        entropy = outputs.entropy[:, -logits_to_keep:] if outputs.entropy is not None else None
        return logps, entropy


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def make_parser(subparsers=None):
    """The ``rmr1 grpo`` parser: TRL's ``TrlParser`` over the three dataclasses (``--config`` YAML + overrides)."""
    from trl import TrlParser

    return TrlParser((GRPOScriptArguments, RMR1GRPOConfig, ModelConfig), prog="rmr1 grpo")


def parse_args(args: Sequence[str] | None = None) -> tuple[GRPOScriptArguments, RMR1GRPOConfig, ModelConfig]:
    """Parse argv (``--config RECIPE.yaml`` plus ``--field value`` overrides); unknown keys fail.

    A recipe name without a path (``tiny-cpu``) is looked up in ``recipes/grpo/``.
    """
    return parse_trl_args((GRPOScriptArguments, RMR1GRPOConfig, ModelConfig), "grpo", args)


def check_generation_kwargs(config: RMR1GRPOConfig) -> None:
    """Fail early when :class:`GroupRollout` would not reproduce the requested sampling."""
    extra = set(config.generation_kwargs or {}) - SUPPORTED_GENERATION_KWARGS
    if config.group_rollout and not config.use_vllm and extra:
        raise RMR1Error(
            f"generation_kwargs {sorted(extra)} are not reproduced by the group rollout; set group_rollout: false "
            "to sample with TRL's generate instead"
        )


def build_trainer(script_args: GRPOScriptArguments, training_args: RMR1GRPOConfig, model_args: ModelConfig, callbacks=None):
    """The model, data, rewards and trainer of a run, ready to ``train()``.

    Args:
        script_args, training_args, model_args: the parsed arguments.
        callbacks: extra ``TrainerCallback`` objects (e.g. a held-out evaluation every N steps).

    Returns:
        ``(trainer, dropped)``: the trainer and the number of tasks dropped as too long.
    """
    from trl import get_peft_config

    check_generation_kwargs(training_args)
    if training_args.use_vllm:
        from rmr1_utils.generation.vllm import vllm_available

        if not vllm_available():
            raise RMR1Error("use_vllm: true needs vLLM (GPU machines: pip install -e .[gpu]); or set use_vllm: false")
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
    rollout = None
    if training_args.group_rollout and not training_args.use_vllm:
        rollout = GroupRollout(seed=training_args.seed, min_shared_prefix=training_args.min_shared_prefix)
    import os

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is "experimental" in TRL 1.16
    trainer = RMR1GRPOTrainer(
        model=model,
        reward_funcs=make_rewards(script_args, training_args.output_dir, training_args.seed),
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        rollout_func=rollout,
        callbacks=callbacks,
    )
    return trainer, dropped


def main(args=None, callbacks=None) -> dict:
    """Entry point of ``rmr1 grpo``.

    Args:
        args: argv list (``--config RECIPE.yaml`` + overrides), a tuple of the three parsed
            dataclasses, or ``None`` (read ``sys.argv``).
        callbacks: extra ``TrainerCallback`` objects (the pipeline's held-out evaluation).

    Returns:
        ``{"export_dir", "log_history", "summary", "train_tasks", "dropped_too_long",
        "trainable_parameters", "runtime_s", "rollout"}``; also written to
        ``<output_dir>/grpo_report.json``.
    """
    script_args, training_args, model_args = stage_arguments(args, parse_args)
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
    write_report(trainer, training_args.output_dir, "grpo_report.json", report)
    return report
