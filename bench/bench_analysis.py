"""How fast is analyze() against what an app would otherwise do? Prints tables; asserts nothing.

For each model, the median of REPEATS calls (each with a different num_classes so no cache helps):
  ours   explorer.analysis.analyze(name)            (meta build + traced meta forward)
  (a)    CPU build + torchinfo.summary              (what a naive app does)
  (b)    meta build + torchinfo.summary(device="meta")
  (c)    meta build + one bare meta forward          (the floor: no analysis at all)
Then every registry entry once (median of 3) and the course's classics.

Run: make bench   (or .venv/bin/python bench/bench_analysis.py [--repeats N] [--quick])
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torchinfo  # noqa: E402

from bench.timing import median_seconds  # noqa: E402
from explorer.analysis import analyze  # noqa: E402
from explorer.zoo import build, classics, get_spec, list_architectures  # noqa: E402

MODELS = ["resnet50", "vgg16", "efficientnet_b0", "googlenet", "mobilenet_v2", "convnext_tiny", "vit_b_16"]
CLASSICS = [name for name in classics() if name != "lenet5_1998"]
_classes = itertools.count(1000)


def median_ms(fn, repeats: int) -> float:
    return 1000 * median_seconds(fn, repeats)  # the warm-up call absorbs imports and first-call caches


def ours(name: str) -> None:
    config = {"num_classes": next(_classes)} if "num_classes" in get_spec(name).options else {}
    analyze(name, **config)


def naive_cpu_torchinfo(name: str) -> None:
    shape = (1, *get_spec(name).default_input_shape())
    model = build(name, num_classes=next(_classes))
    torchinfo.summary(model, input_size=shape, verbose=0, device="cpu")


def meta_torchinfo(name: str) -> None:
    shape = (1, *get_spec(name).default_input_shape())
    with torch.device("meta"):
        model = build(name, num_classes=next(_classes))
    torchinfo.summary(model, input_size=shape, verbose=0, device="meta")


def meta_floor(name: str) -> None:
    shape = (1, *get_spec(name).default_input_shape())
    with torch.device("meta"):
        model = build(name, num_classes=next(_classes))
    with torch.no_grad():
        model(torch.empty(shape, device="meta"))


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the whole-registry table")
    parser.add_argument("--registry-only", action="store_true", help="only the whole-registry table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, torchinfo {torchinfo.__version__ if hasattr(torchinfo, '__version__') else ''}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}\n")

    if not args.registry_only:
        compare(args.repeats)
    if not args.quick:
        registry_table()


def compare(repeats: int) -> None:
    """Print the comparison table and the classics' timings."""
    header = ("| model | ours ms | (a) CPU+torchinfo ms | (b) meta+torchinfo ms | (c) meta floor ms "
              "| speed-up vs (a) | vs (b) | ours / (c) |")
    print(header)
    print("|" + "---|" * 8)
    vs_a, vs_b, vs_c = [], [], []
    for name in MODELS:
        t_ours = median_ms(lambda: ours(name), repeats)
        t_a = median_ms(lambda: naive_cpu_torchinfo(name), max(1, repeats // 2))
        t_b = median_ms(lambda: meta_torchinfo(name), repeats)
        t_c = median_ms(lambda: meta_floor(name), repeats)
        vs_a.append(t_a / t_ours)
        vs_b.append(t_b / t_ours)
        vs_c.append(t_ours / t_c)
        print(f"| {name} | {t_ours:.0f} | {t_a:.0f} | {t_b:.0f} | {t_c:.0f} | {vs_a[-1]:.1f}x | "
              f"{vs_b[-1]:.2f}x | {vs_c[-1]:.2f}x |", flush=True)
    print(f"| geometric mean | | | | | {geomean(vs_a):.1f}x | {geomean(vs_b):.2f}x | {geomean(vs_c):.2f}x |")
    print(f"\nslowest against (b): {min(vs_b):.2f}x (1.00x = as fast; 0.91x would be 10 % slower)")

    print("\n| course classic | median ms |\n|---|---|")
    for name in CLASSICS:
        print(f"| {name} | {median_ms(lambda: ours(name), repeats):.0f} |", flush=True)



def registry_table() -> None:
    """Print the median analysis time over the whole registry and the slowest entries."""
    timings = {name: median_ms(lambda: ours(name), 3) for name in list_architectures()}
    slowest = sorted(timings.items(), key=lambda item: -item[1])[:5]
    print(f"\nwhole registry: {len(timings)} entries, median {statistics.median(timings.values()):.0f} ms, "
          f"max {slowest[0][1]:.0f} ms ({slowest[0][0]})")
    print("slowest five: " + ", ".join(f"{n} {t:.0f} ms" for n, t in slowest))


if __name__ == "__main__":
    main()
