"""Where the bundled course files are (``recipes/``, ``data/``, ``notebooks/expected.json``), and rmr1's cache.

In a source checkout they sit at the repository root, where the README, the lessons and the Makefile
name them (``recipes/pipeline/cpu.yaml``, ``data/raw/…``). A wheel carries a copy of them in
``rmr1_utils/bundled/`` (``pyproject.toml`` maps the root folders there), so ``pip install .`` or
``pip install git+URL`` gives every command its recipes and data from any working directory.
:func:`bundled_root` is the one place that decides which copy is used: the checkout's when the package
runs from one (an editable install, ``PYTHONPATH``), else the installed package's. Both hold the same
layout, so a recipe's relative paths (``../../data/raw/…``, ``data/traces/…``) resolve alike.

Standard library only: ``rmr1 --help`` imports this module.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def source_checkout() -> Path | None:
    """The repository root when ``rmr1_utils`` is imported from a source checkout, else ``None``."""
    root = _PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() and (root / "recipes").is_dir() else None


def bundled_root() -> Path:
    """The folder holding ``recipes/``, ``data/`` and ``notebooks/expected.json``.

    The source checkout first (its files are the ones being edited), else ``rmr1_utils/bundled/`` of
    the installed package.
    """
    root = source_checkout()
    if root is not None:
        return root
    return _PACKAGE_DIR / "bundled"


def resolve_data_path(path: str | Path) -> Path:
    """A data path as given when it exists (from the current folder), else against the bundled files.

    Recipes name bundled files as repository paths (``data/traces/cor_traces.jsonl``), which resolve
    from any working directory. A path found nowhere is returned as given, so the error that follows
    names the file the user wrote.
    """
    p = Path(path)
    if p.exists() or p.is_absolute():
        return p
    bundled = bundled_root() / p
    return bundled if bundled.exists() else p


def cache_root() -> Path:
    """Root of rmr1's cache: ``$RMR1_CACHE`` or ``~/.cache/rmr1``."""
    return Path(os.environ.get("RMR1_CACHE") or Path.home() / ".cache" / "rmr1").expanduser()
