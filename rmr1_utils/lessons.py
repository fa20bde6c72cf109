"""What the lessons share: tiny vs full mode, run folders kept apart, and expected numbers that match a recorded run.

Every lesson states what a learner should see ("accuracy goes from 0.00 to 0.92"). Those numbers
come from one recorded full-mode run of the lesson, kept in ``notebooks/expected.json``. At the end
of a full-mode run a lesson calls :func:`check_expected` with what it measured, which prints a table
of recorded vs obtained numbers with their tolerances. On a learner's machine a number outside its
tolerance is explained, not fatal (another CPU gives other numbers); with ``RMR1_STRICT_EXPECTED=1``
(CI, the recording of the course site) it raises (a changed recipe must re-record:
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


#: Set to ``1`` where a drift from the record must fail (CI, the recording of the course site's
#: outputs); a learner's run only reports it.
STRICT_ENV = "RMR1_STRICT_EXPECTED"


def strict_checks() -> bool:
    """Whether :func:`check_expected` raises on a number outside its tolerance (``RMR1_STRICT_EXPECTED=1``)."""
    return os.environ.get(STRICT_ENV) == "1"


def drift_table(lesson: str, measured: dict[str, float], expected: dict) -> list[dict]:
    """One row per measured number: ``name``, ``obtained``, ``recorded`` (None when not recorded),
    ``tolerance``, ``difference`` (obtained − recorded) and ``ok``."""
    rows = []
    for name, value in measured.items():
        record = expected.get(lesson, {}).get(name)
        if record is None:
            rows.append({"name": name, "obtained": value, "recorded": None, "tolerance": None, "difference": None, "ok": False})
            continue
        difference = value - record["value"]
        ok = abs(difference) <= record["tolerance"]
        rows.append({"name": name, "obtained": value, "recorded": record["value"], "tolerance": record["tolerance"],
                     "difference": difference, "ok": ok})  # fmt: skip
    return rows


def format_drift_table(rows: list[dict], places: dict[str, int]) -> str:
    """The rows of :func:`drift_table` as a text table (recorded vs obtained, with tolerances)."""
    lines = [f"{'number':<32} {'recorded':>9} {'obtained':>9} {'difference':>10} {'tolerance':>9}  within"]
    for r in rows:
        d = places[r["name"]]
        if r["recorded"] is None:
            lines.append(f"{r['name']:<32} {'–':>9} {r['obtained']:>9.{d}f} {'–':>10} {'–':>9}  not recorded")
            continue
        lines.append(
            f"{r['name']:<32} {r['recorded']:>9.{d}f} {r['obtained']:>9.{d}f} {r['difference']:>+10.{d}f}"
            f" {r['tolerance']:>9.{d}f}  {'yes' if r['ok'] else 'NO'}"
        )
    return "\n".join(lines)


def check_expected(
    lesson: str, measured: dict[str, float], tolerances: dict[str, float] | None = None, digits: int | dict[str, int] = 2
) -> dict:
    """Compare a full-mode run with the recorded one (or record it, with ``RMR1_RECORD=1``).

    Prints a table of recorded vs obtained numbers with their tolerances. A learner's run that lands
    outside a tolerance (another CPU, another library version, another seed) is told so and goes on;
    only with ``RMR1_STRICT_EXPECTED=1`` (CI, recording the course site) does a drift raise.

    Args:
        lesson: the lesson id (``"03"``).
        measured: name → number measured by this run.
        tolerances: name → how far a rerun may land from the record (default 0.05).
        digits: decimals the lesson's text shows (one for all, or name → decimals, default 2).

    Returns:
        ``{name: {"measured", "expected", "ok"}}`` (empty in tiny mode, where nothing is checked;
        ``expected`` is None for a number not recorded).

    Raises:
        RMR1Error: in strict mode, a full-mode number outside its tolerance, or not recorded yet.
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
    rows = drift_table(lesson, measured, expected)
    print(format_drift_table(rows, places))
    report = {r["name"]: {"measured": r["obtained"], "expected": r["recorded"], "ok": r["ok"]} for r in rows}
    missing = [r["name"] for r in rows if r["recorded"] is None]
    off = [r for r in rows if r["recorded"] is not None and not r["ok"]]
    if strict_checks() and missing:
        raise RMR1Error(
            f"lesson {lesson}: no recorded value for {', '.join(map(repr, missing))} (rerun the lesson with RMR1_RECORD=1)"
        )
    if strict_checks() and off:
        raise RMR1Error(f"lesson {lesson}: {', '.join(r['name'] for r in off)} differ from the recorded run beyond tolerance")
    if off:
        worst = max(off, key=lambda r: abs(r["difference"]) - r["tolerance"])
        d = places[worst["name"]]
        print(
            f"\nyour numbers differ from the recorded run by up to {abs(worst['difference']):.{d}f} "
            f"({worst['name']}: {worst['obtained']:.{d}f} against {worst['recorded']:.{d}f}; {len(off)} of {len(rows)} "
            "outside the tolerance), which is expected on another CPU, another torch or transformers version, or "
            "another seed: the text's numbers are those of the recorded run (bench/RESULTS.md says where it ran)"
        )
    if missing:
        print(f"not recorded: {', '.join(missing)} (a new number: record it with RMR1_RECORD=1)")
    if rows and not off and not missing:
        print(f"\nall {len(rows)} numbers within the tolerance of the recorded run")
    return report
