"""Train the bundled LeNet-5 on scikit-learn's handwritten digits and write assets/weights/.

The 8x8 scans (values 0-16, bright ink on black) are enlarged to 28x28 and padded to 32x32, the input
LeNet-5 was designed for, exactly as explorer.preprocess.digit_view frames an uploaded digit. 80 % of
the 1,797 digits train (with random shifts of up to 2 pixels), 20 % are held out; the held-out accuracy
is recorded next to the weights and checked by tests/test_weights.py. Seeded: rerunning gives the same file.

Run: .venv/bin/python scripts/train_lenet5_digits.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.preprocess import digits_as_lenet_input  # noqa: E402,F401 (tests read it from here too)
from explorer.training import accuracy, train_classifier  # noqa: E402
from explorer.zoo import build  # noqa: E402

OUT = ROOT / "assets" / "weights"
SEED = 0


def main() -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # bit-for-bit reproducible
    images, labels = digits_as_lenet_input()
    train_idx, test_idx = train_test_split(range(len(labels)), test_size=0.2, random_state=SEED, stratify=labels)
    train_x, train_y, test_x, test_y = images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]
    mean, std = train_x.mean().item(), train_x.std().item()
    normalise = lambda x: (x - mean) / std  # noqa: E731
    model = build("lenet5")
    history = train_classifier(model, normalise(train_x), train_y, epochs=40, batch_size=64, lr=2e-3,
                               seed=SEED, max_shift=2,
                               progress=lambda epoch, loss: print(f"epoch {epoch:2d} loss {loss:.4f}"))
    test_accuracy = accuracy(model, normalise(test_x), test_y)
    OUT.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), OUT / "lenet5_digits.pt")
    meta = {
        "architecture": "lenet5", "config": {}, "dataset": "scikit-learn load_digits (UCI, CC BY 4.0)",
        "input": "1x32x32: 8x8 scan enlarged to 28x28 (bilinear), padded by 2; bright ink on black",
        "mean": round(mean, 6), "std": round(std, 6), "seed": SEED,
        "train_samples": len(train_idx), "test_samples": len(test_idx),
        "held_out_accuracy": round(test_accuracy, 4), "final_train_loss": round(history[-1], 4),
        "categories": [str(d) for d in range(10)],
    }
    (OUT / "lenet5_digits.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"held-out accuracy {test_accuracy:.4f} on {len(test_idx)} digits; wrote {OUT}")


if __name__ == "__main__":
    main()
