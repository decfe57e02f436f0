"""Train the LeNet-5 of the transfer-learning demo on the digits 0-4 of scikit-learn's load_digits only.

The same framing and recipe as scripts/train_lenet5_digits.py (32x32 inputs, 80 % of the digits 0-4 train
with random shifts of up to 2 pixels, 20 % held out, Adam, seed 0), with 5 outputs: the digits 5-9 are never
seen, so explorer/transfer/demo.py can show what its features do for them. The held-out accuracy on 0-4
is recorded next to the weights and re-measured by tests/test_transfer_finetune.py. Seeded: rerunning
gives the same file.

Run: .venv/bin/python scripts/train_lenet5_digits_0to4.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.training import accuracy, train_classifier  # noqa: E402
from explorer.preprocess import digits_as_lenet_input  # noqa: E402
from explorer.transfer.demo import OLD_DIGITS, WEIGHTS_NAME  # noqa: E402
from explorer.zoo import build  # noqa: E402

OUT = ROOT / "assets" / "weights"
SEED = 0


def digits_0to4() -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images, labels) of the digits 0-4 only, framed as the bundled LeNet-5's inputs."""
    images, labels = digits_as_lenet_input()
    keep = labels <= max(OLD_DIGITS)
    return images[keep], labels[keep]


def split(labels: torch.Tensor) -> tuple[list[int], list[int]]:
    """Return the (training, held-out) indices: 80/20, stratified, seeded."""
    return train_test_split(range(len(labels)), test_size=0.2, random_state=SEED, stratify=labels)


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # bit-for-bit reproducible
    images, labels = digits_0to4()
    train_idx, test_idx = split(labels)
    train_x, train_y, test_x, test_y = images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]
    mean, std = train_x.mean().item(), train_x.std().item()
    normalise = lambda x: (x - mean) / std  # noqa: E731
    model = build("lenet5", num_classes=len(OLD_DIGITS))
    history = train_classifier(model, normalise(train_x), train_y, epochs=40, batch_size=64, lr=2e-3,
                               seed=SEED, max_shift=2,
                               progress=lambda epoch, loss: print(f"epoch {epoch:2d} loss {loss:.4f}"))
    test_accuracy = accuracy(model, normalise(test_x), test_y)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), OUT / f"{WEIGHTS_NAME}.pt")
    meta = {
        "architecture": "lenet5", "config": {"num_classes": len(OLD_DIGITS)},
        "dataset": "scikit-learn load_digits (UCI, CC BY 4.0), digits 0-4 only",
        "input": "1x32x32: 8x8 scan enlarged to 28x28 (bilinear), padded by 2; bright ink on black",
        "mean": round(mean, 6), "std": round(std, 6), "seed": SEED,
        "train_samples": len(train_idx), "test_samples": len(test_idx),
        "held_out_accuracy": round(test_accuracy, 4), "final_train_loss": round(history[-1], 4),
        "categories": [str(d) for d in OLD_DIGITS],
    }
    (OUT / f"{WEIGHTS_NAME}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"held-out accuracy {test_accuracy:.4f} on {len(test_idx)} digits 0-4; wrote {OUT}")


if __name__ == "__main__":
    main()
