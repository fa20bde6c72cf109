"""A trained judge shipped small: the difference to its base model, low-rank, in one file.

A full fine-tune of the embedded 135M model is a 540 MB folder; what training changed is much
smaller. For every trained linear layer we keep the best rank-``r`` approximation of the change
(``W_trained - W_base ≈ B @ A``, from its singular value decomposition) and every other changed
tensor (layer norms) whole, in float16: ~10 MB at rank 32 for the 15 layers the CPU recipes train.
Loading is the base model plus the delta, merged once and cached like the embedded model
(:func:`rmr1_utils.models.shipped_judge_path`), so a shipped judge loads by name:
``load_model_and_tokenizer("rmr1-judge-135m")``.

The truncation is an approximation: :func:`compress` reports the relative error it leaves, and a
judge is only shipped with its held-out accuracy measured *after* compression (``judge.json``),
which a test reproduces.

How we differ from PEFT's LoRA adapters: an adapter is trained low-rank; this compresses a full
fine-tune after the fact (the CPU recipes learn faster with full updates of the top layers than
with LoRA, measured), and the file needs no PEFT to read.
"""

from __future__ import annotations

import json
from pathlib import Path

from rmr1_utils.errors import RMR1Error
from rmr1_utils.resources import cache_root, source_checkout

#: Where the course's shipped judges live (inside the package, so they install with it).
JUDGES_DIR = Path(__file__).resolve().parent / "judges"

#: The delta file and the description of a shipped judge.
DELTA_FILE = "delta.safetensors"
CARD_FILE = "judge.json"


def ship_folder() -> Path:
    """Where a judge trained here is shipped (``rmr1 pipeline`` with ``ship_as``): the package's
    :data:`JUDGES_DIR` in a source checkout (committed with the course), else ``$RMR1_CACHE/judges``
    — an installed package (``pip install``, Colab) is never written to."""
    return JUDGES_DIR if source_checkout() is not None else cache_root() / "judges"


def shipped_judges() -> dict[str, Path]:
    """Shipped judge names → their folders (each with ``delta.safetensors`` and ``judge.json``): the
    package's, then those shipped into :func:`ship_folder` (a name found in both: the latter)."""
    found = {}
    for folder in dict.fromkeys((JUDGES_DIR, ship_folder())):
        if folder.is_dir():
            found.update({p.name: p for p in sorted(folder.iterdir()) if (p / DELTA_FILE).exists() and (p / CARD_FILE).exists()})
    return found


def compress(base_model, trained_model, rank: int) -> tuple[dict, dict]:
    """The low-rank delta of ``trained_model`` over ``base_model``.

    Args:
        base_model, trained_model: two models of the same architecture (``state_dict`` keys match).
        rank: the rank kept for every changed 2-D weight.

    Returns:
        ``(tensors, stats)``: ``tensors`` maps ``<name>.lora_A`` / ``<name>.lora_B`` (float16
        factors, ``B @ A`` ≈ the change) and ``<name>`` (whole float16 values of changed 1-D
        tensors); ``stats`` has ``matrices``, ``vectors``, ``parameters`` (stored) and
        ``relative_error`` (Frobenius norm of what the truncation drops over the norm of the change).
    """
    import torch

    base, trained = base_model.state_dict(), trained_model.state_dict()
    if set(base) != set(trained):
        raise RMR1Error("compress: the two models have different parameters")
    tensors, dropped, total, matrices, vectors = {}, 0.0, 0.0, 0, 0
    for name, after in trained.items():
        before = base[name]
        if before.shape != after.shape:
            raise RMR1Error(f"compress: {name} has shape {tuple(before.shape)} vs {tuple(after.shape)}")
        delta = after.float() - before.float()
        if not torch.any(delta):
            continue
        if delta.ndim == 2 and min(delta.shape) > rank:
            u, s, vh = torch.linalg.svd(delta, full_matrices=False)
            root = s[:rank].sqrt()
            tensors[f"{name}.lora_A"] = (root[:, None] * vh[:rank]).half().contiguous()
            tensors[f"{name}.lora_B"] = (u[:, :rank] * root[None, :]).half().contiguous()
            dropped += float((s[rank:] ** 2).sum())
            total += float((s**2).sum())
            matrices += 1
        else:
            tensors[name] = after.half().contiguous()
            vectors += 1
    stats = {
        "matrices": matrices,
        "vectors": vectors,
        "parameters": sum(t.numel() for t in tensors.values()),
        "relative_error": (dropped / total) ** 0.5 if total else 0.0,
    }
    return tensors, stats


def apply_delta(model, tensors: dict) -> None:
    """Add a :func:`compress` delta to ``model``'s weights, in place.

    Raises:
        RMR1Error: the delta names a parameter the model does not have, or has the wrong shape.
    """
    import torch

    params = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))
    with torch.no_grad():
        for key, value in tensors.items():
            if key.endswith(".lora_A"):
                name = key.removesuffix(".lora_A")
                target = params.get(name)
                delta = tensors[f"{name}.lora_B"].float() @ value.float()
            elif key.endswith(".lora_B"):
                continue
            else:
                name, target, delta = key, params.get(key), None
            if target is None or (delta is not None and delta.shape != target.shape):
                raise RMR1Error(f"the judge's delta does not fit this base model ({name})")
            if delta is None:
                target.copy_(value.to(target.dtype))
            else:
                target.add_(delta.to(target.dtype))


def save_judge(folder: str | Path, tensors: dict, card: dict) -> Path:
    """Write a shipped judge: ``delta.safetensors`` and ``judge.json`` (base model, command, metrics).

    The card gets ``delta_sha256``, the digest of the delta file: it names the merged copy in the
    model cache, so a changed delta is never served from a stale cache.
    """
    import hashlib

    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / DELTA_FILE), metadata={"format": "rmr1-lowrank-delta"})
    card = {**card, "delta_sha256": hashlib.sha256((folder / DELTA_FILE).read_bytes()).hexdigest()}
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
