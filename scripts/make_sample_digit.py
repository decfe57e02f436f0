"""Make assets/images/digit_3.png: scikit-learn's load_digits sample 3, dark ink on white, upscaled.

Run: .venv/bin/python scripts/make_sample_digit.py
"""

from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parents[1] / "assets" / "images" / "digit_3.png"


def main() -> None:
    digits = load_digits()
    ink = digits.images[3] / 16.0  # a "3"; values 0..16, bright ink on black
    paper = Image.fromarray((255 - ink * 255).astype(np.uint8), "L").resize((112, 112), Image.BICUBIC)
    canvas = Image.new("L", (140, 140), 255)
    canvas.paste(paper, (14, 14))
    canvas.save(OUT)
    print(f"wrote {OUT} (label {digits.target[3]})")


if __name__ == "__main__":
    main()
