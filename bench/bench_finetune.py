"""Fine-tuning on your own images (the Transfer learning page's Your images tab and `finetune --data`), timed on
this machine against the time the job predicts before it starts (the least a run can take).

Real handwritten digits from scikit-learn (threes and sevens as 64x64 PNGs, 50 of each, 15 % held out), random
weights (no pretrained ones can be downloaded here), each network and freeze policy run as the page runs it:
estimate, check, prepare, fine_tune, evaluate. Prints a table; not a timed test.

Run: .venv/bin/python bench/bench_finetune.py (in `make bench`).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from explorer.transfer import job as jobs  # noqa: E402
from explorer.transfer.data import dataset_from_uploads  # noqa: E402
from explorer.transfer.finetune import TrainConfig, evaluate, fine_tune  # noqa: E402
from explorer.transfer.planner import FreezePolicy  # noqa: E402
from explorer.weights import WeightSource  # noqa: E402
from helpers import digit_images  # noqa: E402

CASES = [  # (network, source, policy, epochs)
    ("lenet5", WeightSource.BUNDLED, FreezePolicy.HEAD_ONLY, 10),
    ("mobilenet_v3_small", WeightSource.RANDOM, FreezePolicy.HEAD_ONLY, 5),
    ("resnet18", WeightSource.RANDOM, FreezePolicy.HEAD_ONLY, 5),
    ("resnet18", WeightSource.RANDOM, FreezePolicy.NOTHING, 5),
]


def main() -> None:
    torch.set_num_threads(int(os.environ.get("CONVNET_THREADS", os.cpu_count() or 1)))
    dataset = dataset_from_uploads(digit_images((3, 7), 50))
    print(f"{len(dataset)} real handwritten digits in 2 classes, {torch.get_num_threads()} threads, CPU, batch 16:\n")
    print("| network | freeze | epochs | predicted at least s | prepare s | training s | evaluation s | "
          "measured / predicted | held-out accuracy |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, source, policy, epochs in CASES:
        job = jobs.Job(name, {}, source, policy, None, TrainConfig(epochs=epochs, batch_size=16))
        train, held = jobs.split(dataset, 0)
        cost = jobs.estimate(job, len(dataset.classes), len(train), len(held))
        jobs.check(cost)
        began = time.perf_counter()
        prepared = jobs.prepare(cost, train, held)
        loaded = time.perf_counter()
        history = fine_tune(prepared.model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y,
                            job.train)
        trained = time.perf_counter()
        evaluation = evaluate(prepared.model, prepared.held_x, prepared.held_y, prepared.classes)
        done = time.perf_counter()
        print(f"| {name} | {job.freeze} | {epochs} | {cost.seconds:.2f} | {loaded - began:.2f} | "
              f"{trained - loaded:.2f} | {done - trained:.2f} | {(trained - loaded) / cost.seconds:.1f}x | "
              f"{evaluation.accuracy:.1%} |")
        assert history.epochs


if __name__ == "__main__":
    main()
