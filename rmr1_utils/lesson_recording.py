"""``make record-lessons``: execute the lessons, keep the executed copies, and measure each one's time and memory.

The lessons are committed without outputs; the course site (:mod:`rmr1_utils.course_site`) shows
them with the outputs of a recorded run instead. This module makes that run: it executes each
notebook top to bottom in a fresh kernel, in tiny or full mode, with the explorers as static HTML
(``RMR1_WIDGETS=static``: a rendered page has no widget frontend), and

- stores the executed copy in ``site/recorded/`` (never inside ``notebooks/``), with the run's
  measurements in its metadata (``rmr1_recording``);
- measures the wall time (kernel start included), the peak resident memory of the kernel and every
  process it started (summed, sampled every 0.2 s: shared library pages count once per process, so
  it is an upper bound) and the disk the lesson wrote under the runs folder, and writes them to
  ``notebooks/lesson_resources.json`` — the only source of the time and memory numbers that the
  lessons' first cells, the README and the site show (:func:`update_texts` writes them there).

A tiny-mode recording never replaces a stored full-mode one (it is measured all the same). The
lessons' outputs go to ``runs/recording/`` ($RMR1_RUNS), so a lesson that reads an earlier lesson's
output finds the one recorded before it; record in order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from rmr1_utils.errors import RMR1Error
from rmr1_utils.lessons import MODES
from rmr1_utils.resources import cache_root, source_checkout

#: The repository root (recording is done from a checkout: it writes next to the notebooks).
ROOT = source_checkout() or Path.cwd()
RECORDED_DIR = ROOT / "site" / "recorded"
RESOURCES_FILE = ROOT / "notebooks" / "lesson_resources.json"

#: The generated block in each lesson's first markdown cell and in the README (edit the JSON, not the block).
BEGIN, END = "<!-- lesson-resources: written by make record-lessons -->", "<!-- /lesson-resources -->"

#: Lessons whose GPU recipe ``rmr1 plan`` estimates on a T4 (the lesson itself runs on the CPU; on a T4
#: runtime it runs the same code in fp16, untimed).
GPU_RECIPES = {"03": (("distill", "colab-t4"),), "04": (("grpo", "colab-t4"),)}

#: The commands that record the lessons in each mode (full: what the site shows).
COMMANDS = {"full": "make record-lessons", "tiny": "make record-lessons-tiny"}


def lesson_notebooks(root: Path = ROOT) -> dict[str, Path]:
    """Lesson id (``"03"``) → its notebook in ``notebooks/`` (every ``NN_*.ipynb`` there)."""
    return {p.name[:2]: p for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))}


class PeakMemory:
    """The peak, over the block, of the summed resident memory of this process's descendants (a kernel and its children)."""

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self) -> int:
        import psutil

        total = 0
        for child in psutil.Process().children(recursive=True):
            try:
                total += child.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass  # ended between listing and reading
        return total

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def folder_mib(path: Path, since: float | None = None) -> float:
    """Size of the files under ``path`` in MiB (0 when it does not exist); with ``since`` (a
    ``time.time()``), only the files written from then on — rewritten ones included."""
    if not path.exists():
        return 0.0
    files = (f.stat() for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return sum(st.st_size for st in files if since is None or st.st_mtime >= since) / 2**20


def _cleaned(text: str, root: Path) -> str:
    # Recorded outputs are published: they name paths relative to the checkout, and the home folder as ~.
    return text.replace(str(root) + "/", "").replace(str(root), ".").replace(str(Path.home()), "~")


def clean_outputs(nb, root: Path) -> None:
    """Make the machine's paths in text outputs relative (the checkout) or ``~`` (the home folder)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = _cleaned(output["text"], root)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    output["data"][mime] = _cleaned(output["data"][mime], root)


def machine() -> dict:
    """What a time depends on: cores, threads asked for, the load when the run began, the processor."""
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        model = names[0] if names else model
    return {
        "cores": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "processor": model,
        "python": platform.python_version(),
    }


def execute(path: Path, mode: str, runs: Path, timeout: int) -> tuple[object, dict]:
    """Run one lesson in a fresh kernel; return the executed notebook and its measurements.

    Raises:
        RMR1Error: a cell failed (the lesson, the cell's number and the error's last line).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    lesson = path.name[:2]
    os.environ.update(
        RMR1_TINY="1" if mode == "tiny" else "0",
        RMR1_STRICT_EXPECTED="1",  # a recording whose numbers drift from expected.json stops (lessons.check_expected)
        RMR1_WIDGETS="static",  # explorers as HTML: the page has no widget frontend
        TQDM_DISABLE="1",  # nor progress bars, which a static page would show at 0 %
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        RMR1_RUNS=str(runs),
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    )
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend puts each figure in the notebook
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    began = time.time()
    start = time.monotonic()
    with PeakMemory() as memory:
        try:
            client.execute()
        except CellExecutionError as err:
            index = next(
                (i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"), None
            )
            last = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise RMR1Error(f"lesson {lesson} ({path.name}), cell {index}: {last}") from None
        except DeadKernelError:
            # most often out of memory: the peak so far says how much it had
            raise RMR1Error(
                f"lesson {lesson} ({path.name}): the kernel died at {memory.peak / 2**30:.1f} GiB (out of memory?)"
            ) from None
    seconds = time.monotonic() - start
    clean_outputs(nb, ROOT)
    measured = {
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(memory.peak / 2**20, 1),
        "run_folder_mib": round(folder_mib(runs, since=began - 1), 1),  # what it wrote under the runs folder
        "date": dt.date.today().isoformat(),
        **machine(),
    }
    return nb, measured


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def load_resources(path: Path = RESOURCES_FILE) -> dict:
    """``notebooks/lesson_resources.json``: ``{"lessons": {id: {mode: measurements}}, "environment": {...}}``."""
    if not path.exists():
        return {"lessons": {}, "environment": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def write_resources(resources: dict) -> None:
    """Write ``notebooks/lesson_resources.json`` (sorted keys: a rerun changes only what it measured)."""
    RESOURCES_FILE.write_text(json.dumps(resources, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def recorded_mode(path: Path) -> str | None:
    """The mode of a stored recording (``None`` when there is none)."""
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("rmr1_recording", {}).get("mode")


def record(lessons: Sequence[str], mode: str, runs: Path, timeout: int = 3600, store: bool = True) -> dict:
    """Execute ``lessons`` in ``mode``, store each executed copy, and write the measurements.

    Each lesson's measurements are written as soon as it finishes (a failure later keeps them).
    """
    import nbformat

    notebooks = lesson_notebooks()
    unknown = [lesson for lesson in lessons if lesson not in notebooks]
    if unknown:
        raise RMR1Error(f"--lessons: no notebook for {', '.join(unknown)} in notebooks/ (have {', '.join(notebooks)})")
    resources = load_resources()
    for lesson in lessons:
        path = notebooks[lesson]
        print(f">> lesson {lesson} ({path.name}), {mode} mode ...", flush=True)
        nb, measured = execute(path, mode, runs, timeout)
        target = RECORDED_DIR / path.name
        kept = store and not (mode == "tiny" and recorded_mode(target) == "full")
        if kept:
            nb.metadata["rmr1_recording"] = {"mode": mode, **measured}
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, target)
        resources["lessons"].setdefault(lesson, {})[mode] = measured
        resources["environment"] = environment_sizes()
        write_resources(resources)
        where = f"stored {_shown(target)}" if kept else "not stored" + (" (a full-mode recording is kept)" if store else "")
        print(
            f"   {format_seconds(measured['seconds'])}, peak RAM {format_mib(measured['peak_rss_mib'])}, "
            f"run folder {format_mib(measured['run_folder_mib'])}; {where}",
            flush=True,
        )
    return resources


def environment_sizes() -> dict:
    """Disk taken by the Python environment running this and by rmr1's cache (the embedded model, merged judges)."""
    return {"venv_mib": round(folder_mib(Path(sys.prefix)), 1), "cache_mib": round(folder_mib(cache_root()), 1)}


# --- the tables ---------------------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """``45 s``, ``2 min 05 s``, ``1 h 02 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def format_mib(mib: float) -> str:
    """``850 MiB`` below 1 GiB, else ``2.3 GiB``."""
    return f"{mib:.0f} MiB" if mib < 1024 else f"{mib / 1024:.1f} GiB"


def t4_estimates() -> dict[str, list[dict]]:
    """``rmr1 plan``'s T4 estimate of each lesson's GPU recipe(s), kept in the resources file beside the
    measurements (the tables then need no import of the trainers; a test checks they are current)."""
    from rmr1_utils.plan import plan_recipe

    estimates = {}
    for lesson, recipes in GPU_RECIPES.items():
        estimates[lesson] = []
        for stage, recipe in recipes:
            rep = plan_recipe(stage, recipe, "t4")
            seconds = round(rep["max_steps"] * rep["step_seconds"])
            row = {
                "recipe": f"{stage}/{recipe}",
                "peak_gib": round(rep["peak_gib"], 2),
                "seconds": seconds,
                "max_steps": rep["max_steps"],
            }
            estimates[lesson].append(row)
    return estimates


#: After a time recorded while other work shared the machine (its 1-minute load above its core count).
BUSY_MARK = "†"
BUSY_NOTE = f"{BUSY_MARK} recorded while other work shared the machine (load above the core count): an upper bound."


def busy(entry: dict | None) -> bool:
    """Whether a recording ran on a machine busy with other work (its time is then an upper bound)."""
    return bool(entry) and (entry.get("load_average_1min") or 0) > (entry.get("cores") or 1)


def format_time(entry: dict) -> str:
    """A recording's wall time, marked when the machine was busy."""
    return format_seconds(entry["seconds"]) + (f" {BUSY_MARK}" if busy(entry) else "")


def _cells(entry: dict | None, mode: str) -> str:
    if not entry:
        return f"not recorded yet (`{COMMANDS[mode]}`) | – | –"
    return f"{format_time(entry)} | {format_mib(entry['peak_rss_mib'])} | {format_mib(entry['run_folder_mib'])}"


def lesson_table(lesson: str, resources: dict) -> str:
    """The block for one lesson's first cell: its recorded time, peak RAM and disk per mode, and a T4 estimate."""
    entries = resources["lessons"].get(lesson, {})
    lines = [
        BEGIN,
        "**Time and memory** (recorded runs on 2 CPU cores; peak RAM of the kernel and the processes it starts; "
        "the lesson's run folder on disk):",
        "",
        "| run | wall time | peak RAM | disk |",
        "|---|---:|---:|---:|",
        *(f"| {mode} mode, CPU | {_cells(entries.get(mode), mode)} |" for mode in MODES),
        *(
            f"| `{row['recipe']}` on a T4 (`rmr1 plan` estimate, not a recorded run) | "
            f"{format_seconds(row['seconds'])} ({row['max_steps']} steps) | {row['peak_gib']:.1f} GiB of GPU memory | – |"
            for row in resources.get("t4_estimates", {}).get(lesson, [])
        ),
        *([f"\n{BUSY_NOTE}"] if any(busy(entry) for entry in entries.values()) else []),
        END,
    ]
    return "\n".join(lines)


def course_table(resources: dict, names: dict[str, str]) -> str:
    """Every lesson in one table (the README's and the site's): time, peak RAM and disk per mode, T4 estimates."""
    lines = [
        "| lesson | tiny: time | tiny: peak RAM | full: time | full: peak RAM | full: disk | T4 (plan estimate, GPU recipe) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for lesson, name in names.items():
        entries = resources["lessons"].get(lesson, {})
        tiny, full = entries.get("tiny"), entries.get("full")
        gpu = "; ".join(
            f"`{r['recipe']}`: {r['peak_gib']:.1f} GiB, {format_seconds(r['seconds'])} ({r['max_steps']} steps)"
            for r in resources.get("t4_estimates", {}).get(lesson, [])
        )
        title = name[3:].removesuffix(".ipynb").replace("_", " ")  # 03_distillation.ipynb: "distillation"
        cells = [
            format_time(tiny) if tiny else "–",
            format_mib(tiny["peak_rss_mib"]) if tiny else "–",
            format_time(full) if full else "not recorded yet",
            format_mib(full["peak_rss_mib"]) if full else "–",
            format_mib(full["run_folder_mib"]) if full else "–",
            gpu or "–",
        ]
        lines.append(f"| {lesson} {title} | " + " | ".join(cells) + " |")
    if any(busy(entry) for modes in resources["lessons"].values() for entry in modes.values()):
        lines += ["", BUSY_NOTE]
    return "\n".join(lines)


def requirements_text(resources: dict, names: dict[str, str]) -> str:
    """The README's hardware requirements, from the measured peaks: RAM, disk and time, then the table."""
    measured = [
        (entry["peak_rss_mib"], lesson, mode) for lesson, modes in resources["lessons"].items() for mode, entry in modes.items()
    ]
    env = resources.get("environment", {})
    full = {lesson: modes["full"] for lesson, modes in resources["lessons"].items() if "full" in modes}
    missing = [lesson for lesson in names if lesson not in full]
    lines = [BEGIN]
    if measured:
        peak, lesson, mode = max(measured)
        lines.append(
            f"- **RAM:** the largest recorded peak of a lesson is {format_mib(peak)} (lesson {lesson}, {mode} mode); "
            "the command-line recipes can take more (`bench/RESULTS.md` records each run's peak)."
        )
    if env:
        runs = sum(entry["run_folder_mib"] for entry in full.values())
        lines.append(
            f"- **Disk:** the environment `make setup` builds took {format_mib(env['venv_mib'])} where this was recorded, "
            f"rmr1's cache (the embedded model, merged judges) {format_mib(env['cache_mib'])}"
            + (f", and the full-mode lessons' run folders {format_mib(runs)}." if full else ".")
        )
    if full:
        total = sum(entry["seconds"] for entry in full.values())
        note = f" (lessons {', '.join(missing)} not recorded in full mode yet: `{COMMANDS['full']}`)" if missing else ""
        lines.append(f"- **Time:** the recorded full-mode lessons take {format_seconds(total)} together on 2 CPU cores{note}.")
    else:
        lines.append(f"- **Time:** no full-mode recording yet (`{COMMANDS['full']}`).")
    lines += ["", course_table(resources, names), END]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with its generated block replaced by ``block`` (``block`` inserted after the first line when it has none)."""
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        if END not in rest:
            raise RMR1Error(f"a generated block opens with {BEGIN} but never closes with {END}")
        return head + block + rest.split(END, 1)[1]
    raise RMR1Error(f"no generated block ({BEGIN} ... {END}) to replace")


def with_lesson_block(first_cell: str, block: str) -> str:
    """A lesson's first cell with its block: replaced where it is, else placed after the ``**Runtime:**`` line."""
    if BEGIN in first_cell:
        return replace_block(first_cell, block)
    lines = first_cell.split("\n")
    at = next((i for i, line in enumerate(lines) if "**Runtime:**" in line), 0) + 1
    return "\n".join([*lines[:at], "", block, *lines[at:]])


def update_texts(root: Path = ROOT, resources: dict | None = None) -> list[Path]:
    """Write the recorded numbers into each lesson's first cell and the README; return the files changed."""
    resources = resources or load_resources(root / "notebooks" / RESOURCES_FILE.name)
    changed = []
    notebooks = lesson_notebooks(root)
    for lesson, path in notebooks.items():
        # plain JSON, keys in their order: only the first cell's lines change in the committed file
        nb = json.loads(path.read_text(encoding="utf-8"))
        source = "".join(nb["cells"][0]["source"])
        updated = with_lesson_block(source, lesson_table(lesson, resources))
        if updated != source:
            nb["cells"][0]["source"] = updated.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(path)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = replace_block(text, requirements_text(resources, {k: p.name for k, p in notebooks.items()}))
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
        changed.append(readme)
    return changed


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rmr1_utils.lesson_recording", description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="full", help="tiny or full (default: full, what the site shows)")
    parser.add_argument("--lessons", nargs="*", metavar="NN", help="lesson ids (default: every notebook, in order)")
    parser.add_argument(
        "--runs", type=Path, default=ROOT / "runs" / "recording", help="the lessons' run folder root ($RMR1_RUNS)"
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take")
    parser.add_argument("--no-store", dest="store", action="store_false", help="measure only: keep no executed copy")
    parser.add_argument("--update-text", action="store_true", help="only rewrite the tables from notebooks/lesson_resources.json")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        if not args.update_text:
            lessons = args.lessons or list(lesson_notebooks())
            record(lessons, args.mode, args.runs.resolve(), args.timeout, args.store)
        resources = load_resources()
        resources["t4_estimates"] = t4_estimates()
        write_resources(resources)
        for path in update_texts():
            print(f"updated {_shown(path)}")
    except RMR1Error as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
