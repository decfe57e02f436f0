"""How long does a grid of augmented samples take? Prints a table; asserts nothing.

A 512x512 crop of the bundled cat photo; 16 samples drawn with explorer.augment.sample_grid on the CPU,
median of N grids, for the course's pipeline (mirror, random resized crop, colour shift), a heavier one
(RandAugment, colour jitter, PCA colour, random erasing) and every operation alone.

Run: .venv/bin/python bench/bench_augment.py [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import median_seconds  # noqa: E402
from explorer.augment import OPERATIONS, new_step, sample_grid  # noqa: E402
from explorer.images import load_image, sample_images  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cat = load_image(sample_images()["cat"].read_bytes())
    image = cat.resize((512, 512))
    pipelines = {
        "course: mirror, random resized crop, colour shift": [new_step("hflip"), new_step("random_resized_crop"),
                                                              new_step("random_color_shift")],
        "heavy: RandAugment, jitter, PCA colour, erasing": [new_step("randaugment"), new_step("color_jitter"),
                                                            new_step("fancy_pca"), new_step("random_erasing")],
    }
    print("| 16 samples of a 512x512 image | median s | target |\n|---|---|---|")
    for label, steps in pipelines.items():
        print(f"| {label} | {median_seconds(lambda: sample_grid(image, steps, 16, 0), args.repeats):.3f} | < 1 s |")
    slowest = max(((name, median_seconds(lambda: sample_grid(image, [new_step(name)], 16, 0), 3)) for name in OPERATIONS),
                  key=lambda item: item[1])
    print(f"| slowest single operation: {slowest[0]} | {slowest[1]:.3f} | < 1 s |")


if __name__ == "__main__":
    main()
