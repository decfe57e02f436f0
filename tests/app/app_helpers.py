"""Small helpers shared by the AppTest files (importable: tests/app is on sys.path)."""

from __future__ import annotations

import io

from PIL import Image


def image_captions(at) -> list[str]:
    """Return the captions of every st.image on the page, in order."""
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


def png_bytes(image: Image.Image) -> bytes:
    """Return ``image`` encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shown_errors(at) -> list[str]:
    """Return the text each st.error box displays (the page escapes user text, so drop the escapes)."""
    import re

    return [re.sub(r"\\(.)", r"\1", element.value).replace("\u200b", "") for element in at.error]


def open_tab(at, model_key: str, label: str):
    """Open the lazy tab ``label`` of the tabs kept at ``model_key`` (only the open tab's code runs) and rerun."""
    at.session_state[model_key] = label
    return at.run()
