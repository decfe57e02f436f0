"""Where the app's bundled files lie: ``assets/`` beside ``explorer/`` in a checkout, ``explorer/assets/`` in an
installed wheel (pyproject.toml maps the top-level folder there, so ``pip install .`` carries the sample images and
the bundled LeNet-5 weights)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
ASSETS_DIR = next((folder for folder in (_PACKAGE.parent / "assets", _PACKAGE / "assets") if folder.is_dir()),
                  _PACKAGE.parent / "assets")
