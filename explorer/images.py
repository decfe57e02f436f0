"""Safe image loading: any common format in, an RGB PIL image out, or one clear sentence.

Shared by every page that takes an image. Checks happen before decoding where they can (size limits
against decompression bombs, formats we do not read), and awkward inputs are converted correctly:
EXIF orientation, CMYK, palettes, transparency (composited on white), 16-bit and float images
(scaled, not clipped), animations and multi-page TIFFs (first frame or page, and we say so).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from explorer.errors import ImageLoadError
from explorer.paths import ASSETS_DIR

MAX_BYTES = 20 * 2**20
MAX_PIXELS = 40_000_000  # well below Pillow's own 89.5 M-pixel bomb limit
READABLE_FORMATS = {"PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF", "TIFF"}
UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff"]
SAMPLES_DIR = ASSETS_DIR / "images"
NOTE_KEY = "explorer_note"

# Formats people try that we do not read, recognised by their first bytes.
_SIGNATURES = [
    (b"%PDF", "a PDF document"),
    (b"<?xml", "an XML or SVG drawing"),
    (b"<svg", "an SVG drawing"),
    (b"\x89HDF", "an HDF5 file"),
    (b"PK\x03\x04", "a ZIP archive"),
]


def _sniff_unsupported(data: bytes) -> str | None:
    head = data[:64].lstrip()
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc", b"avif"):
        return "a HEIC/AVIF photo"
    return None


def _to_eight_bit(image: Image.Image) -> Image.Image:
    """Scale 16-bit, 32-bit and float grayscale images into 0-255 (Pillow's convert would clip)."""
    array = np.asarray(image)
    if image.mode.startswith("I;16") or (image.mode == "I" and array.max(initial=0) > 255):
        scaled = array.astype(np.float64) / 65535.0 * 255.0
    elif image.mode == "F":
        high = float(array.max(initial=0.0))
        scaled = array * 255.0 if high <= 1.0 else array.astype(np.float64) / max(high, 1e-12) * 255.0
    else:
        scaled = array.astype(np.float64)
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), mode="L")


def _on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _first_of_many(image: Image.Image) -> str:
    """Return the note for a file holding several pictures (only the first is used), or "" for one picture."""
    count = getattr(image, "n_frames", 1)
    if count <= 1:
        return ""
    if image.format == "TIFF":
        return f"Only the first of {count} pages of this TIFF is used."
    if image.format == "MPO":  # a camera's JPEG with extra pictures (a depth map, a second lens)
        return f"Only the first of {count} pictures stored in this JPEG is used."
    return f"This is an animation of {count} frames; the first frame is used."


def load_image(data: bytes) -> Image.Image:
    """Return the image in ``data`` as an RGB PIL image, oriented as its EXIF says.

    For an animation (GIF, WebP, APNG) the first frame is used, for a multi-page TIFF the first page, and
    ``image.info["explorer_note"]`` says so.

    Raises:
        ImageLoadError: empty data, not an image, a format we do not read (SVG, HEIC, PDF, ...),
            truncated or corrupt data, or too many pixels.
    """
    if not data:
        raise ImageLoadError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImageLoadError(f"The file is {len(data) / 2**20:.1f} MB; images up to {MAX_BYTES // 2**20} MB are read.")
    unsupported = _sniff_unsupported(data)
    if unsupported:
        raise ImageLoadError(f"This is {unsupported}, not a picture we can read; use PNG, JPEG, WebP, BMP, GIF or TIFF.")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:  # Pillow's own guard, far above ours, fires at open
        raise ImageLoadError(f"The image has far more than {MAX_PIXELS / 1e6:.0f} million pixels and is not read "
                             f"(this guards against decompression bombs).") from None
    except UnidentifiedImageError:
        raise ImageLoadError("This file is not an image we can read; use PNG, JPEG, WebP, BMP, GIF or TIFF.") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageLoadError("The image could not be opened: it looks corrupt.") from None
    if image.format not in READABLE_FORMATS:
        raise ImageLoadError(f"{image.format} images are not supported; use PNG, JPEG, WebP, BMP, GIF or TIFF.")
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageLoadError(f"The image is {width}x{height} = {width * height / 1e6:.0f} million pixels; "
                             f"at most {MAX_PIXELS / 1e6:.0f} million are read (this guards against "
                             f"decompression bombs).")
    if width < 1 or height < 1:
        raise ImageLoadError("The image has no pixels.")
    note = _first_of_many(image)
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageLoadError("The image data is truncated or corrupt and cannot be decoded.") from None
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _to_eight_bit(image)
    if image.mode in ("RGBA", "LA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
        result = _on_white(image)
    else:
        result = image.convert("RGB")
    if note:
        result.info[NOTE_KEY] = note
    return result


def default_sample(channels: int) -> str:
    """Return the bundled sample that suits a network taking ``channels`` input channels (a digit for 1)."""
    return "digit 3" if channels == 1 else "cat"


def fit_within(image: Image.Image, side: int) -> Image.Image:
    """Return ``image``, or a copy shrunk to fit ``side`` x ``side`` (aspect kept); ``image`` is never changed."""
    if max(image.size) <= side:
        return image
    smaller = image.copy()
    smaller.thumbnail((side, side))
    return smaller


DISPLAY_SIDE = 800  # no image on a page is drawn wider than this (CSS px) on a wide screen


def for_display(image: Image.Image, side: int | None = DISPLAY_SIDE, quality: int = 85) -> bytes:
    """Return ``image`` as the bytes a page sends: shrunk to fit ``side`` x ``side`` (None: as it is), as JPEG.

    Streamlit sends a PIL image at full size as JPEG of quality 100: a phone photo is several MB per run, and a
    910x910 montage 873 KB; at quality 85 and display size the same pictures are a fraction and look the same.
    """
    shown = image if side is None else fit_within(image, side)
    buffer = io.BytesIO()
    shown.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def photo_caveat(display_name: str, channels: int) -> str:
    """Return why a network taking ``channels`` input channels says little about photos, or "".

    The networks here that take one channel were trained on handwritten digits.
    """
    if channels != 1:
        return ""
    return (f"{display_name} knows only what it was trained on (handwritten digits, seen in grayscale): on a "
            f"photo its guesses say little. Pick a network trained on photos above.")


def sample_images() -> dict[str, Path]:
    """Return the bundled sample images (assets/images/), name -> path, sorted by name."""
    if not SAMPLES_DIR.is_dir():
        return {}
    return {path.stem.replace("_", " "): path for path in sorted(SAMPLES_DIR.iterdir())
            if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp")}
