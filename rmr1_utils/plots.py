"""Matplotlib figures used by the lessons and written by the stages (where a picture beats a table)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence


def plot_token_lengths(counts: Mapping[str, Sequence[int]], budget: int | None = None, title: str = "Judge prompt length"):
    """Histogram of judge-prompt token counts per split, with the token budget marked.

    Args:
        counts: split name → token counts (as returned by ``prepare(...)["token_counts"]``).
        budget: the token budget to draw as a vertical line.
        title: figure title.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for split, values in counts.items():
        if values:
            ax.hist(values, bins=30, alpha=0.6, label=f"{split} (n={len(values)})")
    if budget:
        ax.axvline(budget, color="black", linestyle="--", label=f"budget {budget}")
    ax.set_xlabel("tokens (system + user prompt, chat template)")
    ax.set_ylabel("tasks")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_winner_balance(tasks: Sequence[Mapping], keys: Sequence[str] = ("source", "domain")):
    """Stacked bars of ``model_a`` / ``model_b`` winners per group, one panel per grouping key.

    Args:
        tasks: judge tasks (``winner`` plus the grouping keys).
        keys: the groupings to show.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        counts: dict[str, Counter] = {}
        for t in tasks:
            counts.setdefault(str(t[key]), Counter())[t["winner"]] += 1
        names = sorted(counts)
        a = [counts[n]["model_a"] for n in names]
        b = [counts[n]["model_b"] for n in names]
        ax.barh(names, a, label="model_a (chosen shown as A)")
        ax.barh(names, b, left=a, label="model_b (chosen shown as B)")
        ax.set_title(f"winner by {key}")
        ax.set_xlabel("tasks")
        ax.invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))  # leave room for the legend under the panels
    return fig


def plot_benchmark_scores(summaries: Mapping[str, Mapping], title: str = "Benchmark scores"):
    """Bars of each benchmark's headline score and its sections/domains/categories.

    Args:
        summaries: benchmark name → summary (``rmr1 evaluate``'s ``summary.json``).
        title: figure title.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(summaries), figsize=(3.2 * len(summaries) + 1, 3.6), squeeze=False)
    for ax, (name, summary) in zip(axes[0], summaries.items()):
        parts = next((summary[k] for k in ("sections", "domains", "categories") if summary.get(k)), {})
        labels = ["overall", *parts]
        values = [summary["score"], *(v["score"] if isinstance(v, Mapping) else v for v in parts.values())]
        ax.bar(labels, values, color=["black"] + ["tab:blue"] * len(parts))
        ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
        ax.set_ylim(0, 1)
        ax.set_title(name)
        ax.tick_params(axis="x", rotation=45)
    axes[0][0].set_ylabel("accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_run_comparison(rows: Sequence[Mapping], title: str = "Before vs after", series: Sequence[str] = ("before", "after")):
    """Grouped bars, one group per metric and one bar per run.

    Args:
        rows: :func:`rmr1_utils.evaluate.compare_summaries` rows (``metric``, ``before``, ``after``),
            or any rows with ``metric`` and one value per name in ``series``.
        title: the figure title.
        series: the run names (row keys) to draw, in order.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(series) * len(rows) + 2), 3.6))
    width = 0.8 / len(series)
    for k, name in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        ax.bar([i + offset for i in range(len(rows))], [r[name] for r in rows], width=width, label=name)
    ax.set_xticks(list(range(len(rows))), [r["metric"] for r in rows], rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_accuracy_by_length(rows: Sequence[Mapping], title: str = "Accuracy vs length difference (better − worse)"):
    """Accuracy per length-difference bin, from :func:`rmr1_utils.evaluate.accuracy_by_length_diff`.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.bar([r["bin"] for r in rows], [r["accuracy"] for r in rows])
    for i, r in enumerate(rows):
        ax.text(i, min(0.95, r["accuracy"] + 0.02), f"n={r['n']}", ha="center", fontsize=8)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("characters")
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_training_curves(
    log_history: Sequence[Mapping], keys: Sequence[str] = ("loss", "mean_token_accuracy"), title: str = "Training"
):
    """Curves of a Trainer's ``state.log_history`` against the optimizer step, one panel per key.

    Args:
        log_history: ``trainer.state.log_history`` (or the ``log_history`` of a stage report).
        keys: logged metrics to draw (missing ones are skipped).
        title: the figure title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    present = [k for k in keys if any(k in h for h in log_history)]
    if not present:
        raise ValueError(f"none of {list(keys)} is in the log history")
    fig, axes = plt.subplots(1, len(present), figsize=(4.2 * len(present), 3.2), squeeze=False)
    for ax, key in zip(axes[0], present):
        points = [(h["step"], float(h[key])) for h in log_history if key in h and "step" in h]
        ax.plot([s for s, _ in points], [v for _, v in points], marker="o")
        ax.set_xlabel("step")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def read_tensorboard_scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    """The scalars a training logged to TensorBoard (``report_to: tensorboard``), read back from its event files.

    Args:
        log_dir: a training's ``output_dir`` (its newest event folder under it is read: the last
            run there, transformers writes ``<output_dir>/runs/<date>_<host>/``) or an event folder.

    Returns:
        Tag (``train/loss``, ``train/reward``…) → ``[(step, value), ...]`` in step order.

    Raises:
        FileNotFoundError: no event file under ``log_dir``.
    """
    from pathlib import Path

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = sorted(Path(log_dir).rglob("events.out.tfevents.*"), key=lambda p: p.stat().st_mtime)
    if not events:
        raise FileNotFoundError(f"{log_dir}: no TensorBoard event files (was the run made with report_to: tensorboard?)")
    accumulator = EventAccumulator(str(events[-1].parent), size_guidance={"scalars": 0})  # 0: keep every point
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}


def plot_tensorboard_scalars(
    scalars: Mapping[str, Sequence[tuple[int, float]]], tags: Sequence[str] = ("train/loss",), title: str = "TensorBoard"
):
    """Curves of :func:`read_tensorboard_scalars` against the step, one panel per tag (missing ones skipped).

    Returns:
        The matplotlib figure.
    """
    rows = [{"step": step, tag: value} for tag in tags for step, value in scalars.get(tag, ())]
    return plot_training_curves(rows, keys=tags, title=title)


def plot_intervals(rows: Sequence[Mapping], series: Sequence[str], title: str = "Accuracy with 95% intervals"):
    """Grouped bars with error bars: one group per row (metric), one bar per series (model).

    Args:
        rows: rows with ``metric`` and, per series, an interval ``{"value", "low", "high"}``
            (:func:`rmr1_utils.pipeline_report.report_rows`).
        series: the columns to draw, in order.
        title: the figure title.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(series) * len(rows) + 2), 3.8))
    width = 0.8 / len(series)
    for k, name in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * width
        values = [r[name]["value"] for r in rows]
        errors = [[v - r[name]["low"] for v, r in zip(values, rows)], [r[name]["high"] - v for v, r in zip(values, rows)]]
        ax.bar([i + offset for i in range(len(rows))], values, width=width, yerr=errors, capsize=3, label=name)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="coin flip")
    ax.set_xticks(list(range(len(rows))), [r["metric"].removeprefix("accuracy: ") for r in rows], rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, ncol=len(series) + 1, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_held_out_curve(points: Sequence[Mapping], title: str = "GRPO: held-out accuracy and training reward"):
    """Held-out accuracy (with its bootstrap band) and mean training reward against the GRPO step.

    Args:
        points: ``{"step", "accuracy": {"value", "low", "high"}, "reward"}`` per evaluation
            (the pipeline's ``held_out_curve``).
        title: the figure title.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    steps = [p["step"] for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(steps, [p["accuracy"]["value"] for p in points], marker="o", label="held-out accuracy")
    left.fill_between(steps, [p["accuracy"]["low"] for p in points], [p["accuracy"]["high"] for p in points], alpha=0.25,
                      label="95% bootstrap interval")  # fmt: skip
    left.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    left.set_ylim(0, 1.05)
    left.set_xlabel("GRPO step")
    left.legend(fontsize=8)
    rewards = [(p["step"], p["reward"]) for p in points if p.get("reward") is not None]
    right.plot([s for s, _ in rewards], [r for _, r in rewards], marker="o", color="tab:green")
    right.set_ylim(-1.05, 1.05)
    right.set_xlabel("GRPO step")
    right.set_title("mean reward (training samples)")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_grpo_group(group: Mapping, title: str | None = None):
    """One GRPO group: each sample's verdict, its ±1 reward and its group-normalised advantage.

    Args:
        group: a record of :func:`rmr1_utils.rollouts.sample_group_records` (``winner`` and
            ``samples`` with ``verdict``, ``reward``, ``advantage``).
        title: the figure title (default: the label and the group's reward mean and std).

    Returns:
        The matplotlib ``Figure``.
    """
    import statistics

    import matplotlib.pyplot as plt

    samples = group["samples"]
    rewards = [s["reward"] for s in samples]
    advantages = [s["advantage"] for s in samples]
    mean = sum(rewards) / len(rewards)
    std = statistics.stdev(rewards) if len(rewards) > 1 else 0.0
    labels = [f"sample {k + 1}: verdict {s['verdict'] or '–'}" for k, s in enumerate(samples)]
    colours = ["tab:green" if r > 0 else "tab:red" for r in rewards]
    rows = list(range(len(samples)))
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 1.2 + 0.55 * len(samples)), sharey=True)
    left.barh(rows, rewards, color=colours)
    left.axvline(mean, color="black", linestyle="--", linewidth=1)
    left.set_xlim(-1.5, 1.5)
    left.set_title(f"reward: +1 names the labelled winner\n(dashed: group mean {mean:+.2f})", fontsize=10)
    right.barh(rows, advantages, color=colours)
    right.axvline(0, color="black", linewidth=1)
    limit = max(1.0, *(abs(a) for a in advantages)) * 1.4
    right.set_xlim(-limit, limit)
    right.set_title(f"advantage: (r − mean) / (std + 1e-4)\n(std {std:.2f})", fontsize=10)
    for ax, values, span in ((left, rewards, 1.5), (right, advantages, limit)):
        for row, value in zip(rows, values):
            shift = 0.03 * span if value >= 0 else -0.03 * span
            ax.text(value + shift, row, f"{value:+.2f}", va="center", ha="left" if value >= 0 else "right", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    left.set_yticks(rows, labels)
    left.invert_yaxis()
    winner = "A" if group.get("winner") == "model_a" else "B" if group.get("winner") == "model_b" else group.get("winner")
    fig.suptitle(title or f"One GRPO group · labelled winner {winner}")
    fig.tight_layout()
    return fig
