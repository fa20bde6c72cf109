"""Shared-prefix decoding: every row of a batch reads *one* copy of the common prompt's keys and values.

Every RM-R1 judge prompt starts with the same ~800-token system prompt. Prefilling it once is the
easy half (see :class:`~rmr1_utils.generation.transformers.TransformersBackend`). The other half is decoding: a
KV cache repeated for 48 rows holds 48 copies of that prefix, and every new token's attention reads
all of them. On a 2-core CPU that read is memory-bound and takes as long as all the model's matrix
products together (measured: 4.3 ms of 11 ms per layer and decode step, 48 rows).

Here the cache keeps the prefix once (:class:`SharedPrefixLayer`: ``prefix_keys`` with a batch of
one) and each row's own tokens separately. :func:`shared_prefix_attention` scores a decode step's
queries against the shared prefix with one matrix product for all rows, against each row's own
keys as usual, and takes one softmax over both parts: the arithmetic of attending to the
concatenation, so outputs match the repeated cache (tested), with the prefix read once. A prefill
(several new tokens per row) attends to the concatenation itself, built once.

Use :func:`shared_prefix_cache` on a prefilled prefix and run the forward passes inside ``with
shared_prefix_decoding(model, cache):``. Only models on HF's ``sdpa`` attention are supported
(:func:`supports_shared_prefix`); callers fall back to a repeated cache otherwise.

How we differ from vLLM: vLLM shares prefix *blocks* through paged attention; this is the same idea
for the one prefix a judge needs, in plain PyTorch.
"""

from __future__ import annotations

import contextvars
import copy
import functools

from rmr1_utils.generation.kv_cache import preallocated_layer_class

#: The attention implementation name registered with transformers.
SHARED_PREFIX_SDPA = "rmr1_shared_prefix_sdpa"

# The cache whose prefix the attention function reads, set by `shared_prefix_decoding`.
_ACTIVE_CACHE: contextvars.ContextVar = contextvars.ContextVar("rmr1_shared_prefix_cache", default=None)


def shared_prefix_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, is_causal=None, **kwargs):
    """Attention over (the shared prefix, then the row's own keys).

    Args:
        module: the attention module (its ``layer_idx`` picks the cache layer).
        query: ``(batch, heads, q_len, dim)``.
        key, value: the rows' own keys/values, ``(batch, kv_heads, own_len, dim)``.
        attention_mask: HF's 4-D mask over prefix + own keys (boolean, True = attend), or ``None``.

    Returns:
        ``(output, None)``, output ``(batch, q_len, heads, dim)`` as HF attention functions return.
    """
    import torch
    import torch.nn.functional as F

    cache = _ACTIVE_CACHE.get()
    layer = cache.layers[module.layer_idx] if cache is not None else None
    prefix_keys = getattr(layer, "prefix_keys", None)
    batch, heads, q_len, dim = query.shape
    if prefix_keys is not None:
        prefix_values = layer.prefix_values
        prefix = prefix_keys.shape[2]
    if prefix_keys is None or q_len > 1:
        if prefix_keys is not None:  # a prefill: attend to the concatenation, built once for the call
            key = torch.cat([prefix_keys.expand(batch, -1, -1, -1), key], dim=2)
            value = torch.cat([prefix_values.expand(batch, -1, -1, -1), value], dim=2)
        if attention_mask is not None and attention_mask.ndim == 4:
            attention_mask = attention_mask[:, :, :, : key.shape[-2]]
        causal = q_len > 1 and attention_mask is None
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, scale=scaling, is_causal=causal,
                                             enable_gqa=key.shape[1] != heads)  # fmt: skip
        return out.transpose(1, 2).contiguous(), None

    # One new token per row: the prefix is read once for all rows.
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    q = query.reshape(batch, kv_heads, groups, dim) * scale
    # (kv_heads, batch*groups, dim) @ (kv_heads, dim, prefix) -> scores against the shared prefix
    flat = q.transpose(0, 1).reshape(kv_heads, batch * groups, dim)
    prefix_scores = torch.bmm(flat, prefix_keys[0].transpose(1, 2)).view(kv_heads, batch, groups, prefix).transpose(0, 1)
    own_scores = torch.matmul(q, key.transpose(2, 3))  # (batch, kv_heads, groups, own)
    scores = torch.cat([prefix_scores, own_scores], dim=-1)
    if attention_mask is not None:
        mask = attention_mask[:, :, 0, -scores.shape[-1] :].unsqueeze(2)  # (batch, 1, 1, prefix + own)
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    probs = torch.softmax(scores, dim=-1)
    prefix_probs = probs[..., :prefix].transpose(0, 1).reshape(kv_heads, batch * groups, prefix)
    out = torch.bmm(prefix_probs, prefix_values[0]).view(kv_heads, batch, groups, dim).transpose(0, 1)
    out = out + torch.matmul(probs[..., prefix:], value)
    return out.reshape(batch, 1, heads, dim), None


@functools.cache  # once per process
def _register() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(SHARED_PREFIX_SDPA, shared_prefix_attention)
    AttentionMaskInterface.register(SHARED_PREFIX_SDPA, sdpa_mask)


@functools.cache  # built on first use: transformers is imported lazily
def _layer_class():
    from transformers.cache_utils import DynamicLayer

    class SharedPrefixLayer(preallocated_layer_class()):
        """One cache layer: the shared prefix once (``prefix_keys``, a batch of one) and each row's
        own tokens in a preallocated buffer (``keys``/``values`` are views of what is written; writing
        and growing as :func:`~rmr1_utils.generation.kv_cache.preallocate_cache`'s layers do)."""

        def __init__(self, prefix_keys, prefix_values, rows: int, room: int):
            DynamicLayer.__init__(self)  # not the base's: nothing to copy, the prefix is kept as it is
            _, kv_heads, _, dim = prefix_keys.shape
            self.prefix_keys, self.prefix_values = prefix_keys, prefix_values
            self._allocate(prefix_keys, rows, kv_heads, room, dim)
            self.length = 0
            self._views()

        def get_seq_length(self) -> int:
            return self.prefix_keys.shape[2] + self.length

        def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
            return self.get_seq_length() + query_length, 0

        def batch_repeat_interleave(self, repeats: int):
            self._k = self._k.repeat_interleave(repeats, dim=0)
            self._v = self._v.repeat_interleave(repeats, dim=0)
            self._views()

    return SharedPrefixLayer


def supports_shared_prefix(model) -> bool:
    """Whether ``model`` runs HF's ``sdpa`` attention (the only one :func:`shared_prefix_attention` stands in for)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(base.config, "_attn_implementation", None) in ("sdpa", SHARED_PREFIX_SDPA)


def shared_prefix_cache(prefix_cache, rows: int, room: int):
    """A cache holding ``prefix_cache``'s tokens once and room for ``room`` tokens of each of ``rows`` rows.

    Args:
        prefix_cache: a prefilled ``DynamicCache`` of the shared prefix (a batch of one); not modified.
        rows: rows that will continue after the prefix.
        room: tokens to reserve per row (its prompt suffix plus the new tokens); grows if needed.

    Returns:
        A new cache, or ``None`` when ``prefix_cache`` has other layer types (sliding windows…).
    """
    from transformers.cache_utils import DynamicLayer

    if not all(type(layer) is DynamicLayer and layer.is_initialized for layer in prefix_cache.layers):
        return None
    layer_class = _layer_class()
    cache = copy.copy(prefix_cache)  # the prefix tensors are only read: share them
    cache.layers = [layer_class(layer.keys, layer.values, rows, room) for layer in prefix_cache.layers]
    return cache


class shared_prefix_decoding:  # noqa: N801 - a context manager, like torch.no_grad
    """Within the block, the model's forward passes with ``cache`` attend to its prefix once.

    Args:
        model: a (possibly PEFT-wrapped) HF model on ``sdpa`` attention.
        cache: from :func:`shared_prefix_cache`.
    """

    def __init__(self, model, cache):
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.config = base.config
        self.cache = cache
        self.previous = None
        self.token = None

    def __enter__(self):
        _register()
        self.previous = self.config._attn_implementation
        self.config._attn_implementation = SHARED_PREFIX_SDPA
        self.token = _ACTIVE_CACHE.set(self.cache)
        return self

    def __exit__(self, *exc):
        _ACTIVE_CACHE.reset(self.token)
        self.config._attn_implementation = self.previous
        return False
