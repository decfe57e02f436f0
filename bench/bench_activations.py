"""What does feature-map capture cost against a plain forward pass? Prints a table; asserts nothing.

resnet50 with random weights on the CPU, one 3x224x224 image, median of N passes each:
  plain forward (inference mode, no hooks) | capture of the last layer (fc) | capture of an early layer
  (layer1, so the pass stops there) | a 64-channel 112x112 montage image.

Run: .venv/bin/python bench/bench_activations.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.timing import median_seconds  # noqa: E402
from explorer.activations import capture  # noqa: E402
from explorer.montage import montage  # noqa: E402
from explorer.zoo import build  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    return 1000 * median_seconds(fn, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build("resnet50")
    x = torch.randn(1, 3, 224, 224)

    def plain() -> None:
        with torch.inference_mode():
            model(x)

    # interleave the measurements so that machine noise hits all of them alike
    plain_ms, last_ms, early_ms = [], [], []
    for _ in range(3):
        plain_ms.append(median_ms(plain, args.repeats))
        last_ms.append(median_ms(lambda: capture(model, x, ["fc"]), args.repeats))
        early_ms.append(median_ms(lambda: capture(model, x, ["layer1"]), args.repeats))
    plain_t, last_t, early_t = (statistics.median(v) for v in (plain_ms, last_ms, early_ms))
    maps = torch.randn(64, 112, 112)
    montage_t = median_ms(lambda: montage(maps, "channel", "viridis"), args.repeats)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, resnet50 at 3x224x224, CPU\n")
    print("| measurement | median ms | ratio to plain forward | target |")
    print("|---|---|---|---|")
    print(f"| plain forward | {plain_t:.1f} | 1.00 | |")
    print(f"| capture last layer (fc) | {last_t:.1f} | {last_t / plain_t:.2f} | <= 1.10 |")
    print(f"| capture early layer (layer1, stops there) | {early_t:.1f} | {early_t / plain_t:.2f} | < 1 |")
    print(f"| 64-channel 112x112 montage | {montage_t:.1f} | | < 50 ms |")


if __name__ == "__main__":
    main()
