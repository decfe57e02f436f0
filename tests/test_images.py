"""load_image: every kind of bad input is one sentence; awkward images are converted correctly."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.images import (
    MAX_PIXELS, NOTE_KEY, ImageLoadError, fit_within, load_image, photo_caveat, sample_images,
)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def photo(size=(40, 30)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), "RGB")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF"])
def test_every_supported_format_loads_as_rgb(fmt):
    image = load_image(encode(photo(), fmt))
    assert image.mode == "RGB" and image.size == (40, 30)


def _truncated() -> bytes:
    data = encode(photo((200, 200)), "PNG")
    return data[: len(data) // 2]


def _bomb() -> bytes:
    side = int(MAX_PIXELS ** 0.5) + 100
    return encode(Image.new("1", (side, side)), "PNG")


@pytest.mark.parametrize("data, message", [
    (b"", "The file is empty."),
    (b"hello, this is text and not a picture at all", "not an image we can read"),
    (b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'></svg>", "an XML or SVG drawing"),
    (b"<svg width='10' height='10'></svg>", "an SVG drawing"),
    (b"%PDF-1.7\n%...", "a PDF document"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a HEIC/AVIF photo"),
    (b"PK\x03\x04rest-of-a-zip", "a ZIP archive"),
])
def test_bad_bytes_are_one_sentence(data, message):
    with pytest.raises(ImageLoadError, match=message) as error:
        load_image(data)
    assert "\n" not in str(error.value)


def test_truncated_data_is_reported():
    with pytest.raises(ImageLoadError, match="truncated or corrupt"):
        load_image(_truncated())


def test_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(ImageLoadError, match="decompression bombs"):
        load_image(_bomb())


def test_a_bomb_beyond_pillows_own_limit_is_one_sentence():
    data = encode(Image.new("1", (15_000, 15_000)), "PNG")  # 225 M pixels, a few kB compressed
    with pytest.raises(ImageLoadError, match="decompression bombs"):
        load_image(data)


def test_unsupported_pillow_format_is_refused():
    with pytest.raises(ImageLoadError, match="not supported"):
        load_image(encode(photo(), "PPM"))


def test_exif_orientation_is_applied():
    image = photo((40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    loaded = load_image(encode(image, "JPEG", exif=exif))
    assert loaded.size == (20, 40)


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    values = np.array([[0, 128 * 257, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)  # Pillow picks mode I;16 for uint16
    assert image.mode == "I;16"
    loaded = np.asarray(load_image(encode(image, "PNG")))
    assert list(loaded[0, :, 0]) == [0, 128, 255]


def test_float_tiff_is_scaled():
    image = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F")
    loaded = np.asarray(load_image(encode(image, "TIFF")))
    assert list(loaded[0, :, 0]) == [0, 128, 255]


def test_cmyk_is_converted_to_rgb():
    cyan = Image.new("CMYK", (4, 4), (255, 0, 0, 0))
    loaded = np.asarray(load_image(encode(cyan, "JPEG", quality=100)))
    red, green, blue = loaded[0, 0]
    assert red < 30 and green > 220 and blue > 220


def test_transparency_is_composited_on_white():
    clear = Image.new("RGBA", (3, 3), (255, 0, 0, 0))
    assert tuple(np.asarray(load_image(encode(clear, "PNG")))[0, 0]) == (255, 255, 255)
    half = Image.new("RGBA", (3, 3), (0, 0, 0, 128))
    assert 120 <= np.asarray(load_image(encode(half, "PNG")))[0, 0, 0] <= 135
    palette = Image.new("P", (3, 3), 0)
    palette.putpalette([0, 0, 0] * 256)
    palette.info["transparency"] = 0
    assert tuple(np.asarray(load_image(encode(palette, "PNG", transparency=0)))[0, 0]) == (255, 255, 255)


@pytest.mark.parametrize("fmt, options", [("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {})],
                         ids=["gif", "webp", "apng"])
def test_animation_uses_the_first_frame_and_says_so(fmt, options):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100, **options)
    loaded = load_image(buffer.getvalue())
    assert tuple(np.asarray(loaded)[0, 0]) == (255, 0, 0)
    assert loaded.info[NOTE_KEY] == "This is an animation of 3 frames; the first frame is used."


def test_a_multi_page_tiff_uses_the_first_page_and_calls_them_pages():
    pages = [Image.new("RGB", (16, 12), (index, 255 - index, 7)) for index in range(100)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    assert Image.open(io.BytesIO(buffer.getvalue())).n_frames == 100  # really a 100-page TIFF
    loaded = load_image(buffer.getvalue())
    assert tuple(np.asarray(loaded)[0, 0]) == (0, 255, 7) and loaded.size == (16, 12)
    assert loaded.info[NOTE_KEY] == "Only the first of 100 pages of this TIFF is used."


def test_a_single_page_tiff_has_no_note():
    assert NOTE_KEY not in load_image(encode(photo(), "TIFF")).info


def test_bundled_samples_load_and_are_attributed():
    samples = sample_images()
    assert {"cat", "digit 3"} <= set(samples)
    attribution = (next(iter(samples.values())).parent / "ATTRIBUTION.md").read_text()
    for name, path in samples.items():
        assert load_image(path.read_bytes()).mode == "RGB"
        assert path.name in attribution


def test_fit_within_shrinks_a_copy_and_keeps_a_small_image_itself():
    large = Image.new("RGB", (1000, 500))
    smaller = fit_within(large, 512)
    assert smaller.size == (512, 256) and large.size == (1000, 500)
    assert fit_within(smaller, 512) is smaller


def test_only_a_one_channel_network_gets_the_photo_caveat():
    assert photo_caveat("LeNet-5", 1).startswith("LeNet-5 knows only what it was trained on (handwritten digits")
    assert photo_caveat("ResNet-18", 3) == ""


def test_a_large_photo_is_sent_at_display_size_as_a_compact_jpeg():
    from explorer.images import DISPLAY_SIDE, SAMPLES_DIR, for_display

    photo = Image.open(SAMPLES_DIR / "cat.png").convert("RGB").resize((3000, 2000))  # a phone photo's size
    data = for_display(photo)
    sent = Image.open(io.BytesIO(data))
    assert sent.format == "JPEG" and sent.size == (DISPLAY_SIDE, DISPLAY_SIDE * 2 // 3)
    full = io.BytesIO()
    photo.save(full, format="JPEG", quality=100)  # what Streamlit sends for the PIL image itself
    assert len(data) * 10 < len(full.getvalue())
    small = photo.resize((300, 200))
    assert Image.open(io.BytesIO(for_display(small))).size == (300, 200)  # never enlarged
    assert Image.open(io.BytesIO(for_display(photo, side=None))).size == (3000, 2000)
