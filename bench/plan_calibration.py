"""P7 — does ``rmr1 plan`` estimate memory right? Its estimates for the embedded model against the
peak tensor memory measured on CPU (:mod:`rmr1_utils.plan_calibration`).

For three (batch, length) settings: a LoRA training step as the trainers run it (saved activations
and TRL's fused LM head at its peak, plus the adapters' gradients) and a rollout of GRPO's group
sampler (prefill, the preallocated KV cache, sampling). Prints a table and one line for
``bench/RESULTS.md``: ``RESULT P7 max_rel_error=<e> settings=3``.

Run: ``.venv/bin/python bench/plan_calibration.py`` (a few minutes on 2 cores: every operation is
counted in Python).
"""

from __future__ import annotations

from rmr1_utils.plan_calibration import SETTINGS, calibrate


def main() -> None:
    rows = calibrate(SETTINGS)
    print(f"{'kind':<10}{'batch':>6}{'length':>8}{'measured MiB':>14}{'estimated MiB':>15}{'error':>9}")
    for r in rows:
        print(f"{r['kind']:<10}{r['batch']:>6}{r['length']:>8}{r['measured_mib']:>14.1f}{r['estimated_mib']:>15.1f}"
              f"{r['relative_error']:>+9.1%}")  # fmt: skip
    worst = max(abs(r["relative_error"]) for r in rows)
    print(f"RESULT P7 max_rel_error={worst:.3f} settings={len(SETTINGS)}")


if __name__ == "__main__":
    main()
