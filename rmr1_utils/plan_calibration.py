"""``rmr1 plan`` checked against measurement: its memory estimates for the embedded model, on CPU.

A GPU's peak memory cannot be measured here, but the same formulas predict the CPU's (with the
CPU's differences stated: fp32, a dropout mask in fp32, TRL's LM head without Triton). For each
(batch, length) setting this measures, with :class:`rmr1_utils.memory.PeakTensorMemory`:

* a **training step** as both trainers run it — LoRA (r=16, dropout 0.05, the GPU recipes' adapter)
  on the embedded SmolLM2-135M, TRL's fused LM head scoring the completion half of each row, loss
  and backward — against :func:`rmr1_utils.plan.activation_bytes` (saved activations + the head's
  peak) plus the adapters' gradients;
* a **rollout** of GRPO's sampler (:func:`rmr1_utils.rollouts.sample_groups`: prompts of ``length
  / 2`` tokens, as many new tokens) against :func:`rmr1_utils.plan.rollout_bytes` (KV cache, sampling
  logits, the prefill's largest intermediate).

``bench/plan_calibration.py`` records the result (``RESULT P7``); ``tests/test_plan.py`` holds the
bar (every estimate within 25 % of its measurement).
"""

from __future__ import annotations

from collections.abc import Sequence

#: (batch, length) settings measured: rows × tokens per row.
SETTINGS = ((1, 256), (2, 512), (4, 384))
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear", "task_type": "CAUSAL_LM"}


def calibrate(settings: Sequence[tuple[int, int]] = SETTINGS, seed: int = 0) -> list[dict]:
    """Measure and estimate each setting; returns one row per (setting, kind) with the relative error."""
    import torch
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    from rmr1_utils.memory import PeakTensorMemory
    from rmr1_utils.models import load_model_and_tokenizer
    from rmr1_utils.plan import Run, activation_bytes, rollout_bytes
    from rmr1_utils.plan_model import load_architecture
    from rmr1_utils.rollouts import SamplingSettings, sample_groups
    from rmr1_utils.training import supervised_positions_only

    arch = load_architecture("embedded")
    model, tokenizer = load_model_and_tokenizer("embedded", device="cpu", dtype="float32")
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))  # as TRL's SFTTrainer does
    model = get_peft_model(model, LoraConfig(**LORA))
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for batch, length in settings:
        run = Run(
            stage="grpo", model="embedded", dtype="float32", compute_dtype="float32", precision_label="fp32",
            quantization=None, nested_quant=False, lora_rank=LORA["r"], lora_dropout=LORA["lora_dropout"],
            checkpointing=False, batch=batch, accumulation=1, prompt_length=length // 2,
            completion_length=length - length // 2, generations_per_prompt=1, steps_per_generation=1, triton=False,
        )  # fmt: skip
        # Training: the completion half of every row is supervised.
        ids = torch.randint(0, arch.vocab, (batch, length), generator=generator)
        labels = ids.clone()
        labels[:, : length // 2] = -100
        model.train()
        with PeakTensorMemory() as memory, supervised_positions_only():
            model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True).loss.backward()
        model.zero_grad(set_to_none=True)
        saved, head = activation_bytes(arch, run, batch, length, run.completion_length)
        gradients = arch.lora_parameters(LORA["r"]) * 4
        rows.append(_row("training", batch, length, memory.peak, saved + head + gradients))
        # Rollout: distinct prompts, a cache preallocated for the whole completion; every token ends a
        # row, so the sampler stops after the first step (the peak is the prefill and the allocation).
        model.eval()
        prompts = torch.randint(0, arch.vocab, (batch, run.prompt_length), generator=generator).tolist()
        sampling = SamplingSettings(max_new_tokens=run.completion_length)
        with PeakTensorMemory() as memory, torch.no_grad():
            sample_groups(model, prompts, sampling, eos_token_ids=range(arch.vocab), generator=generator)
        rows.append(_row("rollout", batch, length, memory.peak, rollout_bytes(arch, run)))
    return rows


def _row(kind: str, batch: int, length: int, measured: float, estimated: float) -> dict:
    return {
        "kind": kind,
        "batch": batch,
        "length": length,
        "measured_mib": measured / 2**20,
        "estimated_mib": estimated / 2**20,
        "relative_error": (estimated - measured) / measured,
    }
