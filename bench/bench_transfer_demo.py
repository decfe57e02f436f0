"""The Transfer learning page's offline digits demo, timed on this machine: both runs (frozen 0-4 features with a new
head for 5-9, and from scratch) at the defaults, several times, median and max, with the accuracies it measured.

Run: .venv/bin/python bench/bench_transfer_demo.py (in `make bench`). Prints a table; not a timed test.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.transfer import demo  # noqa: E402

RUNS = 5
TARGET_SECONDS = 30.0


def main() -> None:
    torch.set_num_threads(int(os.environ.get("CONVNET_THREADS", os.cpu_count() or 1)))
    demo.run_demo()  # imports, scikit-learn's digits, the bundled weights: once, untimed
    seconds, results = [], []
    for _ in range(RUNS):
        began = time.perf_counter()
        result = demo.run_demo()
        seconds.append(time.perf_counter() - began)
        results.append(result)
    last = results[-1]
    print(f"Digits demo at the defaults ({last.samples_per_class} images a digit, {last.config.epochs} epochs, "
          f"seed {last.config.seed}), {torch.get_num_threads()} threads, {RUNS} runs:\n")
    print("| measurement | value | target |")
    print("|---|---|---|")
    print(f"| both runs, median | {statistics.median(seconds):.2f} s | < {TARGET_SECONDS:.0f} s on 2 cores |")
    print(f"| both runs, max | {max(seconds):.2f} s | |")
    print(f"| frozen held-out accuracy | {last.frozen.held_out_accuracy:.1%} | |")
    print(f"| scratch held-out accuracy | {last.scratch.held_out_accuracy:.1%} | |")
    print(f"| held-out images | {last.held_out_images} | |")


if __name__ == "__main__":
    main()
