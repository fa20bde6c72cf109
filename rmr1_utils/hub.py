"""The Hugging Face Hub: one quick question (is this repo there, can we reach it?), loading a dataset, pushing an export.

The default clients retry for ~45 s before failing when there is no network; a course on a
laptop (or a CI machine with no hub) should learn that in well under a second and say so in one
line. ``HF_HUB_OFFLINE=1`` skips the question entirely.
"""

from __future__ import annotations

import os
from pathlib import Path

from rmr1_utils.errors import DataError

OK, MISSING, GATED, OFFLINE = "ok", "missing", "gated", "offline"


def hub_offline_requested() -> bool:
    """Whether the user asked for offline mode (``HF_HUB_OFFLINE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def hub_status(repo_id: str, repo_type: str = "model", timeout: float = 10) -> str:
    """Probe the Hub once for ``repo_id``.

    Args:
        repo_id: ``owner/name``.
        repo_type: ``"model"`` or ``"dataset"``.
        timeout: seconds for the one request.

    Returns:
        ``"ok"``, ``"missing"`` (no such repo), ``"gated"`` (needs a login), or ``"offline"``
        (no network, or offline mode requested).
    """
    if hub_offline_requested():
        return OFFLINE
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    api = HfApi()
    info = api.dataset_info if repo_type == "dataset" else api.model_info
    try:
        info(repo_id, timeout=timeout)
        return OK
    except GatedRepoError:
        return GATED
    except RepositoryNotFoundError:
        return MISSING
    except Exception:  # DNS failure, refused connection, timeout, proxy error…
        return OFFLINE


def load_hub_dataset(name: str, config: str | None, split: str, where: str):
    """``datasets.load_dataset`` for a Hub source, failing in one line (and fast) when offline.

    Without network, only the local ``datasets`` cache is tried (offline mode), instead of the
    client's long retries.
    """
    import datasets

    status = hub_status(name, "dataset")
    if status == MISSING:
        raise DataError(f"{where}: no such dataset on the Hugging Face Hub")
    if status == GATED:
        raise DataError(f"{where}: the dataset is gated: log in with `hf auth login` and accept its terms")
    previous = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = previous or status == OFFLINE
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as e:  # missing split, not cached while offline…: one line for the user
        reason = (
            "no network and not in the local cache"
            if status == OFFLINE
            else f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
        )
        raise DataError(f"{where}: cannot load from the Hub ({reason})") from None
    finally:
        datasets.config.HF_HUB_OFFLINE = previous


def push_export(trainer, export_dir: str | Path, merged: bool = True):
    """Upload the export folder to the repo the trainer created (``push_to_hub``/``hub_model_id``).

    The trainer's own ``push_to_hub`` uploads its ``output_dir`` (unmerged adapters, its own
    card); the export folder is what a user loads, so it is what goes up, through the same client
    and settings (``hub_token``, ``hub_revision``, ``hub_private_repo`` at creation). Adapter files
    that checkpoint pushes left at the repo's root are deleted when the export is merged (else
    transformers would load the repo as an adapter).

    Args:
        trainer: the trained trainer (its ``init_hf_repo`` ran when it was built).
        export_dir: the exported folder (model, tokenizer, card).
        merged: the export is a merged model (not an adapter folder).

    Returns:
        The upload's ``CommitInfo``.
    """
    from transformers.utils.hub import hf_api

    args = trainer.args
    if getattr(trainer, "hub_model_id", None) is None:
        trainer.init_hf_repo(token=args.hub_token)
    return hf_api().upload_folder(
        repo_id=trainer.hub_model_id,
        folder_path=str(export_dir),
        commit_message="End of training: merged model and card (rmr1)",
        token=args.hub_token,
        revision=args.hub_revision,
        delete_patterns=["adapter_*"] if merged else None,
    )


def forget_hub_token(export_dir: str | Path) -> None:
    """Re-save the export's ``training_args.bin`` (the trainer's pickled config, written with a full
    fine-tune's weights) without ``hub_token``, so the token is neither on disk there nor pushed."""
    import copy

    import torch

    path = Path(export_dir) / "training_args.bin"
    if not path.exists():
        return
    saved = torch.load(path, weights_only=False)
    if getattr(saved, "hub_token", None):
        saved = copy.copy(saved)
        saved.hub_token = None
        torch.save(saved, path)
