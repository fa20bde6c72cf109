"""GRPO's group rollouts: sample a group of completions per prompt, prefilling each prompt once.

GRPO scores a prompt by sampling ``num_generations`` completions of it and comparing their rewards
within the group (:func:`group_advantages`). Without vLLM, TRL's default rollout hands every row of
a group to ``model.generate`` separately: the same ~800-token judge prompt is prefilled once per
row, and the batch decodes until its longest row stops. :func:`sample_groups` instead

* prefills the prefix all prompts share (the RM-R1 system prompt) once for the whole call, and on
  ``sdpa`` attention keeps it once in the cache (:mod:`rmr1_utils.generation.prefix_attention`);
* prefills each distinct prompt's remainder once, and repeats its KV cache for the group's rows;
* drops rows from the batch as they finish.

The sampling distribution is TRL's — the same temperature, top-k, top-p, min-p and repetition
penalty, applied by HF's own logits processors in HF's order (:class:`SamplingSettings`) — which
a test checks by recomputing the sampled tokens' log-probs with the trainer. :class:`GroupRollout`
plugs it into TRL's ``GRPOTrainer`` as a ``rollout_func``; :func:`sample_group_records` rolls out
and scores groups for looking at (notebook 04's rollout viewer).

How we differ from the paper: RM-R1 samples its rollouts with vLLM inside verl on 8×H100, where
prefix caching does this for free. This module is the same saving for a laptop CPU, in plain
PyTorch; with ``use_vllm: true`` TRL's vLLM path replaces it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from rmr1_utils.generation.interface import eos_token_ids, prompt_ids
from rmr1_utils.generation.kv_cache import common_prefix_length, gqa_decoding, preallocate_cache
from rmr1_utils.generation.prefix_attention import shared_prefix_cache, shared_prefix_decoding, supports_shared_prefix
from rmr1_utils.judgement import parse_judgement
from rmr1_utils.rewards import rmr1_reward

#: Sampling settings :class:`GroupRollout` reproduces exactly; any other ``generation_kwargs`` key
#: needs TRL's own generation (``group_rollout: false``).
SUPPORTED_GENERATION_KWARGS = frozenset({"temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens"})


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
        """The settings of a ``transformers.GenerationConfig`` (what TRL's trainer samples with).

        Args:
            config: the trainer's ``generation_config``.

        Returns:
            The settings, with HF's ``None`` fields as their "off" values.
        """
        return cls(
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature if config.temperature is not None else 1.0,
            top_k=config.top_k or 0,
            top_p=config.top_p if config.top_p is not None else 1.0,
            min_p=config.min_p,
            repetition_penalty=config.repetition_penalty if config.repetition_penalty is not None else 1.0,
        )

    def logits_processors(self):
        """HF's own processors, in HF's order: repetition penalty, temperature, top-k, top-p, min-p.

        Using HF's classes rather than our own arithmetic is what makes the distribution TRL's.

        Returns:
            A ``LogitsProcessorList`` (empty when every setting is off).
        """
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
    once in the cache (:mod:`rmr1_utils.generation.prefix_attention`). Each prompt's own part of the cache is
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
        if supports_shared_prefix(model):  # the prefix once for every row (see rmr1_utils.generation.prefix_attention)
            shared_cache = shared_prefix_cache(cache, len(prompts), width + settings.max_new_tokens)
        if shared_cache is not None:
            cache, attention = shared_cache, shared_prefix_decoding(model, shared_cache)
        else:
            cache.reorder_cache(torch.zeros(len(prompts), dtype=torch.long, device=device))  # one copy per distinct prompt
    with attention:
        return _decode_groups(model, prompts, row_source, prompt_ids, shared, cache, shared_cache is None, settings,
                              eos_token_ids, generator)  # fmt: skip


def _decode_groups(model, prompts, row_source, prompt_ids, shared, cache, preallocate, settings, eos_token_ids, generator):
    """Steps 2 and 3 of :func:`sample_groups`, after the shared prefix: each distinct prompt's
    remainder prefilled once, then decoding with finished rows leaving the batch."""
    import torch

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
        """One rollout phase, as TRL calls a ``rollout_func``.

        Args:
            prompts: the process's prompts, each repeated once per sample of its group.
            trainer: the ``GRPOTrainer`` (tokenisation, generation config, EOS ids, model).

        Returns:
            ``{"prompt_ids", "completion_ids", "logprobs"}``, one entry per row.
        """
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
