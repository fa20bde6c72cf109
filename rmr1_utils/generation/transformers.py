"""The transformers backend: ``model.generate`` in this process, the one that works everywhere.

What it adds to a plain ``generate`` loop (the interface is :mod:`rmr1_utils.generation.interface`):

* batched with left padding, prompts sorted by length so a batch wastes little padding;
* stops each row at EOS (the chat template's end-of-turn token included);
* a progress bar over batches;
* greedy decoding when ``temperature == 0``; sampling seeded per call otherwise.

How we differ from the paper: RM-R1 generates with vLLM on 8×H100. On a laptop CPU transformers
is the baseline that always works; faster backends plug in behind the same interface.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from rmr1_utils.generation.interface import Completion, GenerationBackend, Messages, SamplingParams, eos_token_ids, prompt_ids
from rmr1_utils.generation.kv_cache import common_prefix_length, gqa_decoding, preallocate_cache
from rmr1_utils.generation.prefix_attention import shared_prefix_cache, shared_prefix_decoding, supports_shared_prefix


class TransformersBackend(GenerationBackend):
    """Batched ``model.generate`` with a shared-prefix KV cache and length-sorted batches.

    Every RM-R1 judge prompt starts with the same ~650-token system prompt. We prefill the longest
    token prefix shared by all prompts of a call *once*, and every batch starts from a copy of that
    cache, so only each prompt's own suffix is prefilled. To keep the shared prefix at the same
    positions in every row, rows are padded *between* the prefix and their suffix (the attention
    mask hides the pads and position ids skip them), not on the left.

    Args:
        model: a causal LM (plain or PEFT).
        tokenizer: its tokenizer (with a chat template).
        batch_size: prompts per forward batch (the ``n`` samples of a prompt share its batch).
        prefix_cache: reuse the shared prefix's KV cache (off: plain left-padded batches).
        min_prefix_tokens: shortest shared prefix worth caching.
    """

    name = "transformers"

    def __init__(self, model, tokenizer, batch_size: int = 8, prefix_cache: bool = True, min_prefix_tokens: int = 32):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.prefix_cache = prefix_cache
        self.min_prefix_tokens = min_prefix_tokens

    def encode(self, conversations: Sequence[Messages]) -> list[list[int]]:
        """Token ids of each conversation rendered with the generation prompt."""
        return [prompt_ids(self.tokenizer, c) for c in conversations]

    def _prefill(self, prefix: list[int], device):
        """KV cache of the shared prefix (batch of one), or ``None`` if the model can't reuse one."""
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
        cache = getattr(out, "past_key_values", None)
        return cache if hasattr(cache, "batch_repeat_interleave") else None

    def generate(
        self, conversations: Sequence[Messages], params: SamplingParams, progress: bool = True
    ) -> list[list[Completion]]:
        import torch
        from tqdm.auto import tqdm

        prompts = self.encode(conversations)
        # Longest first: the first batch shows the memory peak at once, and similar lengths batch
        # together with little padding.
        order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
        results: list[list[Completion] | None] = [None] * len(prompts)
        eos_ids = eos_token_ids(self.model, self.tokenizer)
        pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos_ids[0]
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()

        prefix_len, prefix_kv = 0, None
        shared = supports_shared_prefix(self.model)
        if self.prefix_cache and len(prompts) > 1:
            # Leave at least one token of every prompt uncached: generate needs a new input token.
            prefix_len = min(common_prefix_length(prompts), min(len(p) for p in prompts) - 1)
            if prefix_len >= self.min_prefix_tokens:
                prefix_kv = self._prefill(prompts[0][:prefix_len], device)
            if prefix_kv is None:
                prefix_len = 0

        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        bar = tqdm(total=len(prompts), desc="generate", unit="prompt", disable=not progress)
        try:
            for b, batch in enumerate(batches):
                suffixes = [prompts[i][prefix_len:] for i in batch]
                width = max(len(s) for s in suffixes)
                rows = len(batch) * params.n
                input_ids = torch.full((rows, prefix_len + width), pad_id, dtype=torch.long)
                mask = torch.zeros((rows, prefix_len + width), dtype=torch.long)
                for row, suffix in enumerate(suffixes):
                    for k in range(params.n):  # the n samples of a prompt are adjacent rows
                        r = row * params.n + k
                        input_ids[r, :prefix_len] = torch.tensor(prompts[batch[row]][:prefix_len])
                        input_ids[r, prefix_len + width - len(suffix) :] = torch.tensor(suffix)
                        mask[r, :prefix_len] = 1
                        mask[r, prefix_len + width - len(suffix) :] = 1
                kwargs: dict[str, Any] = dict(max_new_tokens=params.max_new_tokens, eos_token_id=eos_ids, pad_token_id=pad_id)
                attention = gqa_decoding(self.model)
                if prefix_kv is not None:
                    # The prefix once for all rows (see rmr1_utils.generation.prefix_attention), with room for the
                    # suffixes and the new tokens: no copy of the cache per decode step.
                    cache = shared_prefix_cache(prefix_kv, rows, width + params.max_new_tokens) if shared else None
                    if cache is not None:
                        attention = shared_prefix_decoding(self.model, cache)
                    else:
                        cache = copy.deepcopy(prefix_kv)
                        cache.batch_repeat_interleave(rows)
                        cache = preallocate_cache(cache, width + params.max_new_tokens)
                    kwargs["past_key_values"] = cache
                if params.temperature > 0:
                    # One generator state per (call seed, batch): reproducible, and batches differ.
                    torch.manual_seed(params.seed * 1_000_003 + b)
                    kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
                else:
                    kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
                with torch.inference_mode(), attention:
                    out = self.model.generate(input_ids=input_ids.to(device), attention_mask=mask.to(device), **kwargs)
                generated = out[:, prefix_len + width :].tolist()
                for row, i in enumerate(batch):
                    results[i] = [self._completion(generated[row * params.n + k], eos_ids) for k in range(params.n)]
                bar.update(len(batch))
        finally:
            bar.close()
            if was_training:
                self.model.train()
        return results  # type: ignore[return-value]

    def _completion(self, tokens: list[int], eos_ids: list[int]) -> Completion:
        eos_at = next((k for k, t in enumerate(tokens) if t in eos_ids), None)
        if eos_at is not None:
            tokens = tokens[: eos_at + 1]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return Completion(text=text, num_tokens=len(tokens), finished=eos_at is not None)
