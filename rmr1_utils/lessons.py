"""What the lessons share: tiny vs full mode, run folders kept apart, and expected numbers that match a recorded run.

Every lesson states what a learner should see ("accuracy goes from 0.00 to 0.92"). Those numbers
come from one recorded full-mode run of the lesson, kept in ``notebooks/expected.json``. At the end
of a full-mode run a lesson calls :func:`check_expected` with what it measured: each number must be
within its tolerance of the recorded one (a changed recipe must re-record:
``RMR1_RECORD=1 jupyter nbconvert --execute …``). A test checks that every recorded number appears
in the lesson's text as written, so prose, recording and run cannot drift apart. Tiny mode
(``RMR1_TINY=1``, what CI runs) shows the same method on a smaller budget and prints its numbers
without checking them.

Tiny and full runs write to different folders (:func:`run_folder`), so a tiny lesson 03 never leaves
a model that a full lesson 04 would pick up.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rmr1_utils.errors import RMR1Error
from rmr1_utils.resources import bundled_root, source_checkout

#: The recorded full-mode numbers of every lesson (the checkout's, or the installed package's copy).
EXPECTED_FILE = bundled_root() / "notebooks" / "expected.json"

#: The lessons, in order (``notebooks/`` of the repository; a test checks the list).
NOTEBOOKS = (
    "00_overview.ipynb",
    "01_data_preparation.ipynb",
    "02_chain_of_rubrics.ipynb",
    "03_distillation.ipynb",
    "04_grpo.ipynb",
    "05_evaluation.ipynb",
    "06_reasrm_as_reward.ipynb",
    "07_faithfulness.ipynb",
)


#: The two modes of every lesson: small budgets (what CI runs) or the recorded full-size run.
MODES = ("tiny", "full")


def tiny_mode() -> bool:
    """Whether lessons run in tiny mode (``RMR1_TINY=1``: small budgets, what CI executes)."""
    return os.environ.get("RMR1_TINY") == "1"


def default_mode() -> str:
    """The mode a lesson starts in: ``"tiny"`` where ``RMR1_TINY=1`` (CI), else ``"full"``."""
    return "tiny" if tiny_mode() else "full"


def set_mode(mode: str) -> str:
    """Switch the lessons' mode: the run folder (:func:`run_folder`), the expected-number check
    (:func:`check_expected`) and every subprocess follow it (it is kept in ``RMR1_TINY``).

    Each lesson's settings cell calls it with its ``MODE``, so editing ``MODE = "tiny"`` there
    really switches — budgets, run folder and checks alike.

    Raises:
        RMR1Error: a mode other than ``"tiny"`` or ``"full"``.
    """
    if mode not in MODES:
        raise RMR1Error(f"MODE must be 'tiny' or 'full', got {mode!r}")
    os.environ["RMR1_TINY"] = "1" if mode == "tiny" else "0"
    return mode


def runs_root() -> Path:
    """Where lessons write: ``$RMR1_RUNS``, else the checkout's ``runs/``, else ``runs/`` in the current folder.

    The last is for an installed package (``pip install``, the lessons' Colab cell): never inside it.
    """
    if os.environ.get("RMR1_RUNS"):
        return Path(os.environ["RMR1_RUNS"])
    checkout = source_checkout()
    return checkout / "runs" if checkout is not None else Path("runs").resolve()


def run_folder(lesson: str) -> Path:
    """The lesson's output folder: :func:`runs_root` / ``<lesson>`` / ``tiny`` or ``full``."""
    folder = runs_root() / lesson / ("tiny" if tiny_mode() else "full")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def earlier_output(lesson: str, relative: str) -> Path:
    """What an earlier lesson left in its run folder (this mode's), or one line on how to get it.

    Args:
        lesson: the earlier lesson's folder name (``"lesson03"``).
        relative: the path inside its run folder (``"distill/final"``).

    Returns:
        The path, when it exists.

    Raises:
        RMR1Error: it does not exist here — on a fresh Colab runtime, for instance, where every
            lesson starts on a new machine: the message says how to bring it over.
    """
    folder = runs_root() / lesson / default_mode()
    path = folder / relative
    if path.exists():
        return path
    raise RMR1Error(
        f"{path} does not exist: run {lesson} in {default_mode()} mode first, in this same runtime; on Colab, save "
        f"{folder} to Drive at the end of that lesson (from google.colab import drive; drive.mount('/content/drive'); "
        f"copy it there) and copy it back here, or set RMR1_RUNS to a Drive folder for both lessons"
    )


def load_expected() -> dict:
    """``notebooks/expected.json``: lesson → name → ``{"value", "tolerance", "shown"}``."""
    return json.loads(EXPECTED_FILE.read_text(encoding="utf-8")) if EXPECTED_FILE.exists() else {}


def format_number(value: float, digits: int = 2) -> str:
    """How a recorded number is written in a lesson's text."""
    return f"{value:.{digits}f}"


def check_expected(
    lesson: str, measured: dict[str, float], tolerances: dict[str, float] | None = None, digits: int | dict[str, int] = 2
) -> dict:
    """Compare a full-mode run with the recorded one (or record it, with ``RMR1_RECORD=1``).

    Args:
        lesson: the lesson id (``"03"``).
        measured: name → number measured by this run.
        tolerances: name → how far a rerun may land from the record (default 0.05).
        digits: decimals the lesson's text shows (one for all, or name → decimals, default 2).

    Returns:
        ``{name: {"measured", "expected", "ok"}}`` (empty in tiny mode, where nothing is checked).

    Raises:
        RMR1Error: a full-mode number outside its tolerance, or not recorded yet.
    """
    tolerances = tolerances or {}
    places = {name: digits.get(name, 2) if isinstance(digits, dict) else digits for name in measured}
    if tiny_mode():
        numbers = ", ".join(f"{k} {v:.{places[k]}f}" for k, v in measured.items())
        print(f"tiny mode: {numbers} (full-mode numbers are in the text)")
        return {}
    expected = load_expected()
    if os.environ.get("RMR1_RECORD") == "1":
        expected[lesson] = {
            name: {"value": value, "tolerance": tolerances.get(name, 0.05), "shown": format_number(value, places[name])}
            for name, value in measured.items()
        }
        EXPECTED_FILE.write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded {len(measured)} numbers of lesson {lesson} in {EXPECTED_FILE}")
        return {}
    report, bad = {}, []
    for name, value in measured.items():
        record = expected.get(lesson, {}).get(name)
        if record is None:
            raise RMR1Error(f"lesson {lesson}: no recorded value for {name!r} (rerun the lesson with RMR1_RECORD=1)")
        ok = abs(value - record["value"]) <= record["tolerance"]
        report[name] = {"measured": value, "expected": record["value"], "ok": ok}
        print(
            f"{name:<40} measured {value:.{places[name]}f}   recorded {record['value']:.{places[name]}f}"
            f" ± {record['tolerance']}   {'ok' if ok else 'OFF'}"
        )
        if not ok:
            bad.append(name)
    if bad:
        raise RMR1Error(f"lesson {lesson}: {', '.join(bad)} differ from the recorded run beyond tolerance")
    return report
