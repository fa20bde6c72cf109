"""Precision by compute capability: one decision for model loading, the trainers' flags, QLoRA's compute
dtype and vLLM — tested over a table of cards through the functions the stages call.

No GPU runs here, so the one fact that differs — the card's compute capability — is injected
(:class:`~rmr1_utils.precision.DeviceInfo`, :func:`~rmr1_utils.precision.assume_device`); everything
around it is the real code path: the recipes parsed by the stages' own parsers, the trainer configs'
automatic settings, the model loader.
"""

from __future__ import annotations

import re

import pytest
import torch

from rmr1_utils import distill, grpo
from rmr1_utils.errors import RMR1Error
from rmr1_utils.models import load_model_and_tokenizer, resolve_dtype
from rmr1_utils.precision import CPU, DeviceInfo, assume_device, choose_precision
from rmr1_utils.training import resolve_device_settings, training_precision

from .conftest import REPO_ROOT

T4 = DeviceInfo("cuda", "Tesla T4", (7, 5), 15 << 30)
V100 = DeviceInfo("cuda", "Tesla V100", (7, 0), 16 << 30)
A100 = DeviceInfo("cuda", "NVIDIA A100", (8, 0), 40 << 30)
L4 = DeviceInfo("cuda", "NVIDIA L4", (8, 9), 23 << 30)
H100 = DeviceInfo("cuda", "NVIDIA H100", (9, 0), 80 << 30)

# (device, requested dtype, quantization, full fine-tune, bf16 flag, fp16 flag) ->
#   (weights, compute, bf16, fp16, vllm)
TABLE = [
    # CPU: fp32, whatever a GPU recipe asks for (an explicit weights dtype is kept)
    (CPU, None, None, True, None, None, ("float32", "float32", False, False, "float32")),
    (CPU, "auto", "4bit", False, None, None, ("float32", "float32", False, False, "float32")),
    (CPU, None, None, False, True, None, ("float32", "float32", False, False, "float32")),
    (CPU, None, None, False, None, True, ("float32", "float32", False, False, "float32")),
    (CPU, "bfloat16", None, False, None, None, ("bfloat16", "bfloat16", False, False, "float32")),
    # T4 and V100 (< 8.0): fp16; a full fine-tune keeps fp32 weights under fp16 autocast
    (T4, None, None, False, None, None, ("float16", "float16", False, True, "float16")),
    (T4, "auto", "4bit", False, None, None, ("float16", "float16", False, True, "float16")),
    (T4, "float16", "4bit", False, False, True, ("float16", "float16", False, True, "float16")),
    (T4, None, None, True, None, None, ("float32", "float16", False, True, "float16")),
    (V100, None, "8bit", False, None, None, ("float16", "float16", False, True, "float16")),
    (T4, "float32", None, True, None, None, ("float32", "float32", False, False, "float32")),
    # Ampere and later: bf16
    (A100, None, None, True, None, None, ("bfloat16", "bfloat16", True, False, "bfloat16")),
    (L4, "auto", "4bit", False, None, None, ("bfloat16", "bfloat16", True, False, "bfloat16")),
    (H100, "bfloat16", None, True, True, None, ("bfloat16", "bfloat16", True, False, "bfloat16")),
    (A100, "float16", "4bit", False, None, None, ("float16", "float16", False, True, "float16")),
    (A100, None, None, True, None, True, ("float32", "float16", False, True, "float16")),
    (L4, "float32", None, True, None, None, ("float32", "float32", False, False, "float32")),
]


@pytest.mark.parametrize("device, dtype, quantization, full, bf16, fp16, expected", TABLE)
def test_precision_table(device, dtype, quantization, full, bf16, fp16, expected):
    p = choose_precision(device, dtype, quantization, full_finetune=full, bf16=bf16, fp16=fp16)
    assert (p.dtype, p.compute_dtype, p.bf16, p.fp16, p.vllm_dtype) == expected, p.reason


@pytest.mark.parametrize("device", [T4, V100])
@pytest.mark.parametrize("request_", [{"dtype": "bfloat16"}, {"dtype": "bf16"}, {"bf16": True}])
def test_bf16_is_refused_below_capability_8(device, request_):
    with pytest.raises(RMR1Error, match=r"no native bf16 .*compute capability 8\.0"):
        choose_precision(device, request_.get("dtype"), bf16=request_.get("bf16"))


def test_no_emulated_bf16_check_anywhere():
    # torch.cuda.is_bf16_supported() counts emulation (True on a T4): the package must read the capability instead.
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (REPO_ROOT / "rmr1_utils").rglob("*.py"))
    assert not re.search(r"is_bf16_supported\(", sources)


# --- through the trainers' configs (the stages' own parsers) -------------------------------------


def test_colab_t4_recipes_get_fp16_on_a_t4_and_bf16_on_an_a100():
    with assume_device(T4):
        _, args, model_args = distill.parse_args(["--config", "colab-t4"])
        assert (args.bf16, args.fp16) == (False, True)
        assert training_precision(model_args, args, device=T4).dtype == "float16"
        _, gargs, gmodel = grpo.parse_args(["--config", "colab-t4"])
        assert (gargs.bf16, gargs.fp16) == (False, True)
    with assume_device(A100):
        _, args, model_args = distill.parse_args(["--config", "colab-t4"])
        assert (args.bf16, args.fp16) == (True, False) and args.mixed_precision == "bf16"
        assert training_precision(model_args, args, device=A100).compute_dtype == "bfloat16"


def test_a_bf16_recipe_on_a_t4_is_refused_by_the_parser():
    with assume_device(T4), pytest.raises(RMR1Error, match="bf16: true asks for bf16"):
        grpo.parse_args(["--config", "single-gpu-24g"])


def test_cpu_runs_of_gpu_recipes_are_fp32():
    _, args, model_args = grpo.parse_args(["--config", "colab-t4"])
    assert (args.bf16, args.fp16, args.use_cpu) == (False, False, True)
    assert training_precision(model_args, args).dtype == "float16"  # the recipe's explicit dtype: float16 weights


def test_resolve_dtype_follows_the_device():
    assert resolve_dtype(None, "cpu") is torch.float32
    with assume_device(T4):
        assert resolve_dtype(None, "cuda") is torch.float16
    with assume_device(A100):
        assert resolve_dtype("auto", "cuda") is torch.bfloat16


# --- gradient checkpointing and prompt sharing: decided, never silently ---------------------------


class Args:
    """The fields resolve_device_settings reads, as a trainer config holds them before resolution."""

    def __init__(self, **fields):
        self.bf16, self.fp16, self.use_cpu = None, None, False
        self.gradient_checkpointing, self.share_prompt_prefix = None, None
        self.__dict__.update(fields)


@pytest.mark.parametrize(
    "device, checkpointing, share, expected",
    [
        (CPU, None, None, (False, True)),  # CPU: share the prompt, no checkpointing
        (T4, None, None, (True, False)),  # GPU: checkpointing, so no sharing
        (T4, None, True, (False, True)),  # sharing asked for: checkpointing stays off
        (T4, True, None, (True, False)),
        (A100, False, None, (False, True)),
        (CPU, True, False, (True, False)),
    ],
)
def test_checkpointing_and_prompt_sharing_resolution(device, checkpointing, share, expected):
    args = Args(gradient_checkpointing=checkpointing, share_prompt_prefix=share)
    resolve_device_settings(args, device=device)
    assert (args.gradient_checkpointing, args.share_prompt_prefix) == expected


def test_both_checkpointing_and_sharing_asked_for_is_an_error():
    with pytest.raises(RMR1Error, match="cannot both be true"):
        resolve_device_settings(Args(gradient_checkpointing=True, share_prompt_prefix=True), device=T4)


def test_prompt_sharing_is_off_and_refused_under_sharding(monkeypatch):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    args = Args()
    resolve_device_settings(args, device=H100)
    assert args.share_prompt_prefix is False
    with pytest.raises(RMR1Error, match="cannot run under FSDP"):
        resolve_device_settings(Args(share_prompt_prefix=True, gradient_checkpointing=False), device=H100)


# --- the recipe's quantization keys reach bitsandbytes ---------------------------------------------


@pytest.mark.parametrize("quant_type, nested", [("fp4", False), ("nf4", True)])
def test_recipe_quantization_keys_take_effect(quant_type, nested):
    _, args, model_args = distill.parse_args(
        ["--config", "tiny-cpu", "--model_name_or_path", "tiny-random", "--dtype", "auto", "--load_in_4bit", "true",
         "--bnb_4bit_quant_type", quant_type, "--use_bnb_nested_quant", str(nested).lower()]
    )  # fmt: skip
    model, _ = distill.load_trainable_model(model_args, args)
    config = model.config.quantization_config
    config = config if isinstance(config, dict) else config.to_dict()
    assert config["bnb_4bit_quant_type"] == quant_type and config["bnb_4bit_use_double_quant"] is nested
    layer = model.model.layers[0].self_attn.q_proj
    assert type(layer).__name__ == "Linear4bit" and layer.weight.quant_state.quant_type == quant_type
    assert (layer.weight.quant_state.nested is True) is nested


def test_loader_rejects_an_unknown_quant_type():
    with pytest.raises(ValueError, match="bnb_4bit_quant_type"):
        load_model_and_tokenizer("tiny-random", quantization="4bit", device="cpu", bnb_4bit_quant_type="int3")
