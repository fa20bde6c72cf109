"""One quick question to the Hugging Face Hub: is this repo there, and can we reach it?

The default clients retry for ~45 s before failing when there is no network; a course on a
laptop (or a CI machine with no hub) should learn that in well under a second and say so in one
line. ``HF_HUB_OFFLINE=1`` skips the question entirely.
"""

from __future__ import annotations

import os

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
