"""What a model costs: parameters, weight bytes by quantization, LoRA size, and memory per token — from its config alone.

:mod:`rmr1_utils.plan` (``rmr1 plan``) adds these up into a run's peak GPU memory and time. Everything
here is arithmetic on the architecture fields of a model's ``config.json`` (no weights are read; the
configs of the course's models ship in ``rmr1_utils/model_configs/``), for the decoder-only
Llama/Qwen2 family every recipe uses.

**Activations.** A training step keeps, per token and per decoder layer, the tensors autograd
saves for the backward pass. Counted for the transformers implementation of a Llama/Qwen2 layer
(SDPA attention, which saves no sequence-squared matrix), in the compute dtype's ``e`` bytes:

* each RMSNorm (two per layer): its input upcast to fp32 (``4h``) and the normalised input before
  the weight multiply (``e·h``);
* the attention block's input (``e·h``, shared by the q/k/v projections), the rotated queries and
  keys (``e·(q + kv)``), the values (``e·kv``), the attention output (``e·q``) and its log-sum-exp
  (fp32, one per head), and the output projection's input (``e·q``);
* the MLP's input (``e·h``), the gate and up projections' outputs, the SiLU output and the product
  fed to the down projection (``4·e·i``).

With gradient checkpointing a layer keeps only its input (``e·h``) and one layer is recomputed at a
time. This count is checked against the peak tensor memory measured on CPU for the embedded model
(``tests/test_plan.py``; ``RESULT P7`` in ``bench/RESULTS.md``).

**The LM head** is TRL's fused, tiled log-prob head in both trainers (``add_fused_lm_head``): it
never holds ``tokens × vocab`` logits, only tiles of at most 4,096 tokens × 32,768 vocabulary
entries, plus fp32 gradients of the hidden states (and of the head's weight when it trains).

**4-bit weights** (bitsandbytes NF4): half a byte per weight of every linear layer of the decoder,
plus one fp32 scale per 64 weights (with ``use_bnb_nested_quant`` one byte per 64, and an fp32 per
256 of those); the embeddings, the LM head and the norms stay in the compute dtype.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: Shipped configs: ``<org>--<name>.json`` for the Hub id ``<org>/<name>``.
CONFIGS_DIR = Path(__file__).resolve().parent / "model_configs"

#: Names the course uses for models whose config ships with the package.
ALIASES = {"embedded": "HuggingFaceTB/SmolLM2-135M-Instruct"}

#: bitsandbytes 4-bit block size (weights per scale) and the nested quantization's second-level block.
NF4_BLOCK = 64
NESTED_BLOCK = 256

#: TRL's fused log-prob head: the largest tile it projects at once (tokens × vocabulary entries).
HEAD_TOKEN_TILE = 4096
HEAD_VOCAB_TILE = 32768

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class Architecture:
    """The fields of a decoder-only model's config that its costs depend on.

    Attributes:
        name: the Hub id or folder it was read from.
        layers, hidden, intermediate, heads, kv_heads, head_dim, vocab: the usual config fields.
        tied: the LM head shares the embedding matrix.
        qkv_bias: the q/k/v projections have biases (Qwen2).
    """

    name: str
    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    qkv_bias: bool

    @classmethod
    def from_config(cls, config: dict, name: str = "") -> Architecture:
        """Read a ``config.json`` mapping (``AutoConfig(...).to_dict()`` works too)."""
        heads = config["num_attention_heads"]
        qkv_bias = bool(config.get("attention_bias", config.get("model_type") == "qwen2"))
        return cls(
            name=name or config.get("_name_or_path", ""),
            layers=config["num_hidden_layers"],
            hidden=config["hidden_size"],
            intermediate=config["intermediate_size"],
            heads=heads,
            kv_heads=config.get("num_key_value_heads") or heads,
            head_dim=config.get("head_dim") or config["hidden_size"] // heads,
            vocab=config["vocab_size"],
            tied=bool(config.get("tie_word_embeddings", False)),
            qkv_bias=qkv_bias,
        )

    # -- shapes -----------------------------------------------------------------------------

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linear_shapes(self) -> list[tuple[int, int]]:
        """``(in, out)`` of each linear layer of one decoder layer (q, k, v, o, gate, up, down)."""
        h, i = self.hidden, self.intermediate
        return [(h, self.q_dim), (h, self.kv_dim), (h, self.kv_dim), (self.q_dim, h), (h, i), (h, i), (i, h)]

    # -- parameters -------------------------------------------------------------------------

    def linear_parameters(self) -> int:
        """Weights of the decoder layers' linear layers (what 4/8-bit quantization and LoRA act on)."""
        return self.layers * sum(a * b for a, b in self.linear_shapes())

    def other_parameters(self) -> int:
        """Everything else: embeddings, the LM head when untied, norms, biases."""
        embeddings = self.vocab * self.hidden * (1 if self.tied else 2)
        bias = (self.q_dim + 2 * self.kv_dim) if self.qkv_bias else 0
        return embeddings + self.layers * (2 * self.hidden + bias) + self.hidden

    def parameters(self) -> int:
        return self.linear_parameters() + self.other_parameters()

    def head_parameters(self) -> int:
        return self.vocab * self.hidden

    def lora_parameters(self, rank: int) -> int:
        """LoRA adapters of rank ``rank`` on every linear layer of every decoder layer (``all-linear``)."""
        return self.layers * rank * sum(a + b for a, b in self.linear_shapes())

    # -- bytes ------------------------------------------------------------------------------

    def weight_bytes(self, dtype: str, quantization: str | None = None, nested: bool = True) -> float:
        """Bytes of the weights as loaded: ``dtype`` for everything, or 4/8-bit linear layers plus the rest in ``dtype``."""
        rest = self.other_parameters() * BYTES[dtype]
        linear = self.linear_parameters()
        if quantization == "4bit":
            scales = (1 / NF4_BLOCK + 4 / (NF4_BLOCK * NESTED_BLOCK)) if nested else 4 / NF4_BLOCK
            return rest + linear * (0.5 + scales)
        if quantization == "8bit":
            return rest + linear * 1.0 + self.layers * sum(b for _, b in self.linear_shapes()) * 4  # a scale per row
        return rest + linear * BYTES[dtype]

    def kv_bytes_per_token(self, dtype: str) -> int:
        """KV cache: keys and values of every layer for one token."""
        return self.layers * 2 * self.kv_dim * BYTES[dtype]

    def norm_bytes_per_token(self, dtype: str, mode: str = "full") -> int:
        """What one RMSNorm saves per token: its input upcast to fp32 and, when its weight trains, the
        normalised input before the weight multiply."""
        return 4 * self.hidden + (BYTES[dtype] * self.hidden if mode == "full" else 0)

    def activation_bytes_per_token_layer(self, dtype: str, mode: str = "full", rank: int = 0, mask_bytes: int = 1) -> int:
        """Saved activations of one decoder layer per token (no checkpointing); see the module docstring.

        Args:
            dtype: the compute dtype.
            mode: ``"full"`` (every weight trains: each linear layer keeps its input), ``"lora"``
                (frozen base, LoRA adapters without dropout: an adapter keeps the input it shares with
                its base layer) or ``"lora-dropout"`` (each adapter keeps its own dropped-out input and
                the dropout mask).
            rank: the LoRA rank (the adapters' down-projections are kept too).
            mask_bytes: bytes per element of a dropout mask (1 on CUDA's fused dropout; the dtype's on CPU).
        """
        e = BYTES[dtype]
        h, q, kv, i = self.hidden, self.q_dim, self.kv_dim, self.intermediate
        norms = 2 * self.norm_bytes_per_token(dtype, mode)
        # rotated queries and keys, values, attention output and its fp32 log-sum-exp per head
        attention = e * q + e * kv + e * kv + e * q + 4 * self.heads
        if mode == "full":
            return norms + e * h + attention + e * h + 4 * e * i  # + the inputs of the attention and MLP blocks
        adapters = 7 * e * rank  # each adapter's down-projection output
        if mode == "lora":
            return norms + e * h + attention + e * h + 4 * e * i + adapters
        dropped = (e + mask_bytes) * (5 * h + q + i)  # q, k, v, gate, up take h; o takes q; down takes i
        return norms + dropped + attention + 3 * e * i + adapters

    def activation_bytes(
        self,
        tokens: int,
        dtype: str,
        checkpointing: bool,
        mode: str = "full",
        rank: int = 0,
        mask_bytes: int = 1,
        trained_layers: int | None = None,
    ) -> float:
        """Saved activations of a forward over ``tokens`` tokens, at the start of the backward pass.

        Without checkpointing, every trained layer's saved tensors (layers below the first trained one
        run without autograd); with it, each layer's input plus one layer recomputed. The final norm
        is counted once; the LM head is :meth:`head_bytes`.
        """
        layers = self.layers if trained_layers is None else trained_layers
        per_layer = self.activation_bytes_per_token_layer(dtype, mode, rank, mask_bytes)
        final_norm = self.norm_bytes_per_token(dtype, mode)
        if checkpointing:
            return tokens * (layers * BYTES[dtype] * self.hidden + per_layer + final_norm)
        return tokens * (layers * per_layer + final_norm)

    def head_bytes(self, scored_tokens: int, dtype: str, head_trains: bool, triton: bool = True) -> float:
        """TRL's fused LM head at its peak (the backward pass).

        The scored hidden states (kept from the forward) and their fp32 gradient; one logits tile of
        at most 4,096 tokens × 32,768 vocabulary entries; where Triton is missing (CPU) the torch
        fallback's seven fp32 temporaries of the tile's size and a boolean one; and, when the head
        trains, the fp32 gradient of its weight.
        """
        e = BYTES[dtype]
        tile = min(scored_tokens, HEAD_TOKEN_TILE) * min(self.vocab, HEAD_VOCAB_TILE)
        hidden = scored_tokens * self.hidden * (e + 4)
        temporaries = 0 if triton else tile * (7 * 4 + 1)
        weight_grad = self.head_parameters() * 4 if head_trains else 0
        return hidden + tile * e + temporaries + weight_grad

    def sampling_bytes(self, rows: int) -> float:
        """One decoding step's logits for ``rows`` rows, in fp32 (sampling works on probabilities)."""
        return rows * self.vocab * 4 * 3  # logits, their softmax, the filtered copy

    def flops_per_token(self, context: int = 0) -> float:
        """Forward FLOPs per token: 2 per weight of the linear layers and the head, plus attention over ``context`` tokens."""
        matmul = 2 * (self.linear_parameters() + self.head_parameters())
        attention = 2 * 2 * self.layers * self.q_dim * context  # scores and weighted sum
        return matmul + attention


def config_file(name: str) -> Path | None:
    """The shipped config of a Hub id (or alias), if the package has one."""
    name = ALIASES.get(name, name)
    path = CONFIGS_DIR / (name.replace("/", "--") + ".json")
    return path if path.exists() else None


def shipped_architectures() -> list[str]:
    """Hub ids whose configs ship with the package."""
    return sorted(p.stem.replace("--", "/") for p in CONFIGS_DIR.glob("*.json"))


def load_architecture(name: str) -> Architecture:
    """The architecture of a model: a shipped config, a local folder's ``config.json``, or a cached Hub config.

    Args:
        name: a Hub id (``Qwen/Qwen2.5-7B-Instruct``), ``embedded``, or a model folder.

    Returns:
        The :class:`Architecture`.

    Raises:
        FileNotFoundError: no config for that name here (the message lists the shipped ones).
    """
    shipped = config_file(name)
    if shipped is not None:
        return Architecture.from_config(json.loads(shipped.read_text(encoding="utf-8")), ALIASES.get(name, name))
    folder = Path(name).expanduser()
    if (folder / "config.json").exists():
        return Architecture.from_config(json.loads((folder / "config.json").read_text(encoding="utf-8")), name)
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(name, "config.json", local_files_only=True)
        return Architecture.from_config(json.loads(Path(path).read_text(encoding="utf-8")), name)
    except Exception:
        pass
    raise FileNotFoundError(
        f"no config for model {name!r} here: pass a model folder, a cached Hub id, or one of: "
        + ", ".join(shipped_architectures())
    )


def parameter_count(config: dict) -> int:
    """Parameters of a decoder-only model from its config mapping (no weights read)."""
    return Architecture.from_config(config).parameters()
