"""What a person typed, linked or uploaded is shown as plain text (issue 11, item 8).

Streamlit renders alerts, captions and image captions as Markdown with KaTeX and its own directives. Every
field the app echoes (a link's arch, input, options and option names; an uploaded image's or weights file's
name; the op and parameter names of a pipeline file) gets Markdown, HTML and ``$x$`` here, on every page, and
the page must send it escaped: no Markdown-active character outside a backslash escape, and the raw payload
nowhere in what the page sends. A 50,000-character link value is answered fast, with a short quote.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator

import pytest
import torch
from google.protobuf.descriptor import FieldDescriptor
from PIL import Image

from app_helpers import image_captions, png_bytes, shown_errors
from explorer.images import MAX_BYTES
from explorer.ui.messages import MAX_VALUE, MAX_WORD, bounded, plain
from explorer.ui.network import MAX_NOTES
from explorer.zoo import build

BOLD = "**bold**"
PAYLOADS = [
    "![t](http://127.0.0.1:9/x.png)",
    "[Session expired: log in again](https://evil.example/login)",
    "<img src=x onerror=alert(1)>",
    "$x^2$",
    BOLD,
]
PAGES = ["app_pages/home.py", "app_pages/architecture.py", "app_pages/feature_maps.py",
         "app_pages/augmentation.py", "app_pages/cost_lab.py"]
ECHOING_PAGES = PAGES[1:4]  # the pages that take a network apply a link and name what they ignored
ACTIVE = set("\\`*_[](){}<>$!~:&|")  # what Markdown, KaTeX, HTML or Streamlit would act on inside a line
FEATURE_MAPS = "app_pages/feature_maps.py"
AUGMENTATION = "app_pages/augmentation.py"
AUGMENT_SHOWN = 40  # explorer.augment quotes 40 characters of a pipeline file's names


def active_characters(body: str) -> list[str]:
    """Return the characters of ``body`` that Markdown would act on: those in ACTIVE not escaped by a backslash."""
    found, index = [], 0
    while index < len(body):
        if body[index] == "\\":
            index += 2
            continue
        if body[index] in ACTIVE:
            found.append(body[index])
        index += 1
    return found


def unescaped(body: str) -> str:
    """Return what Markdown shows for an escaped ``body``: the escapes and zero-width spaces dropped."""
    return re.sub(r"\\(.)", r"\1", body).replace("\u200b", "")


def quoted(value: str, limit: int = MAX_VALUE) -> str:
    """Return ``value`` as a message quotes it: in quotes, cut to ``limit`` characters with "…" after a cut."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")


def _strings(message) -> Iterator[str]:
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if field.type == FieldDescriptor.TYPE_STRING:
                yield item
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from _strings(item)


def sent_strings(at) -> list[str]:
    """Return every text the page sends to the browser: each string field of every element and block."""
    found: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.extend(_strings(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def alert_bodies(at) -> list[str]:
    """Return the Markdown body of every alert (error, warning, info, success) on the page."""
    return [alert.value for kind in (at.error, at.warning, at.info, at.success) for alert in kind]


def assert_shown_literally(at, payload: str) -> None:
    """An alert or caption that repeats ``payload`` has no Markdown-active character outside an escape, and the
    raw payload is sent nowhere."""
    assert not at.exception
    named_images = [re.sub(r": \d+x\d+$", "", caption) for caption in image_captions(at)]  # "NAME: WxH"
    for body in alert_bodies(at) + [caption.value for caption in at.caption] + named_images:
        if payload in unescaped(body):  # a text that repeats the payload: all of it escaped
            assert active_characters(body) == [], body
    leaked = [text for text in sent_strings(at) if payload in text]
    assert leaked == [], f"the raw payload was sent in {leaked}"


def link(payload: str) -> dict[str, str]:
    """A link that puts ``payload`` in every field a link has: arch, input, an int and a choice option, an option name."""
    return {"arch": payload, "input": payload, "num_classes": payload, "activation": payload, payload: "1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.split("/")[-1].removesuffix(".py"))
@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_link_field_is_shown_literally_on_every_page(open_page, page, payload):
    at = open_page(page, **link(payload))
    assert_shown_literally(at, payload)
    errors = shown_errors(at)
    if page not in ECHOING_PAGES:
        assert errors == []  # nothing of the link is repeated, so nothing can render
        return
    value = quoted(payload)
    expected = [f"The link's arch {value} names no architecture here",
                f"not {value}. The link's input was ignored.",
                f"but got {value}. The link's num_classes was ignored.",
                f"but got {value}. The link's activation was ignored.",
                f"lenet5 has no option {value}; its options are"]
    for part in expected:
        assert sum(part in error for error in errors) == 1, (part, errors)
    for body in at.error:
        assert plain(value) in body.value and active_characters(body.value) == []
    assert at.query_params["arch"] in ("lenet5", ["lenet5"])  # every value was ignored: the default network


def lenet5_state_dict() -> bytes:
    """A valid LeNet-5 state_dict as torch.save writes it."""
    buffer = io.BytesIO()
    torch.save(build("lenet5").state_dict(), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_uploaded_image_and_weights_file_name_are_shown_literally(open_page, payload):
    at = open_page(FEATURE_MAPS, arch="lenet5")
    at.radio(key="widget:feature_maps.weights.source.lenet5").set_value("uploaded").run()
    weights_name = f"{payload}.pt"
    at.file_uploader(key="widget:feature_maps.weights.upload.lenet5").set_value(
        (weights_name, lenet5_state_dict(), "application/octet-stream")).run()
    assert [s.value for s in at.success] == [plain(f"Uploaded weights from {weights_name}.")]
    assert unescaped(at.success[0].value) == f"Uploaded weights from {weights_name}."
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    image_name = f"{payload}.png"
    at.file_uploader(key="widget:feature_maps.image.upload").set_value(
        (image_name, png_bytes(Image.new("RGB", (40, 30), "white")), "image/png")).run()
    assert plain(image_name) + ": 40x30" in image_captions(at)
    assert_shown_literally(at, payload)
    at.radio(key="widget:feature_maps.image.mode").set_value("Sample").run()  # the uploader comes back empty:
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()  # the kept file is named under it
    assert any(c.value == f"Using {plain(image_name)}, uploaded earlier. Upload another file to replace it."
               for c in at.caption), [c.value for c in at.caption]
    assert_shown_literally(at, payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_name_of_an_image_over_the_limit_is_shown_literally(open_page, payload):
    at = open_page(FEATURE_MAPS, arch="lenet5")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    oversized = b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES + 2**20)
    at.file_uploader(key="widget:feature_maps.image.upload").set_value((f"{payload}.png", oversized, "image/png")).run()
    assert shown_errors(at) == [f"{payload}.png is 21.0 MB, and images up to 20 MB are read here, so it was not used."]
    assert_shown_literally(at, payload)


def _pipeline_file(at, data: dict) -> None:
    at.file_uploader(key="widget:augment.pipeline.json").set_value(
        ("pipeline.json", json.dumps(data).encode(), "application/json")).run()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_names_in_a_pipeline_file_are_shown_literally(open_page, payload):
    at = open_page(AUGMENTATION)
    value = quoted(payload, AUGMENT_SHOWN)
    for data, expected in [
            ({"pipeline": [{"op": payload}]}, f"Unknown operation {value}; known: "),
            ({"pipeline": [{"op": "hflip", "params": {payload: 1}}]}, f"hflip has no parameter {value}; "),
            ({"pipeline": [{"op": "hflip", payload: 1}]}, f"A step of the pipeline has an unknown key {value}; "),
            ({payload: []}, f"The pipeline file has an unknown key {value}; ")]:
        _pipeline_file(at, data)
        errors = shown_errors(at)
        assert len(errors) == 1 and errors[0].startswith(expected), errors
        assert errors[0].endswith("The pipeline was not changed.")
        assert plain(value) in at.error[0].value
        assert_shown_literally(at, payload)


@pytest.mark.parametrize("text", ["- item", "+ item", "# heading", "12. item", "a\n\n# heading\n    code",
                                  ":red[red] :material/home: and &amp;", "see www.example.com or a@b.example",
                                  "`code` ~~gone~~ | table | {x}"])
def test_plain_escapes_what_starts_a_block_and_what_acts_inside_a_line(text):
    escaped = plain(text)
    assert active_characters(escaped) == []
    assert not re.match(r"[-+#]|\d+\.", escaped)  # nothing left that starts a list or a heading
    assert "\n" not in escaped and unescaped(escaped) == " ".join(text.split())
    assert "www." not in escaped and "a@b" not in escaped  # GitHub's bare-address links are broken


def test_bounded_cuts_each_long_run_and_the_whole_message():
    assert bounded("short words stay") == "short words stay"
    cut_word = bounded("file " + "x" * 5000 + ".pt is too large.")
    assert cut_word == "file " + "x" * MAX_WORD + "… is too large."
    assert len(bounded("word " * 10_000)) <= 1201


def test_a_link_of_many_unknown_values_gets_a_few_notes_and_a_count(open_page):
    at = open_page("app_pages/architecture.py", arch="lenet5", **{f"{BOLD}{index}": "1" for index in range(20)})
    errors = shown_errors(at)
    assert len(errors) == MAX_NOTES + 1 and errors[-1] == f"{20 - MAX_NOTES} more values of the link were ignored too."
    assert all("lenet5 has no option '**bold**" in error for error in errors[:-1])
    assert_shown_literally(at, BOLD)


@pytest.mark.parametrize("field", ["arch", "num_classes", "key"])
def test_a_50000_character_link_value_is_answered_fast_with_a_short_quote(open_page, field):
    huge = "![t](http://127.0.0.1:9/x.png)$x$" * 1516  # 50,028 characters
    query = {"arch": huge} if field == "arch" else {"arch": "lenet5", **({field: huge} if field != "key" else {huge: "1"})}
    started = time.perf_counter()
    at = open_page("app_pages/architecture.py", **query)
    seconds = time.perf_counter() - started
    assert not at.exception and seconds < 10, f"took {seconds:.1f} s"
    errors = shown_errors(at)
    assert len(errors) == 1 and len(errors[0]) < 450, [len(e) for e in errors]
    assert errors[0].count(quoted(huge)) == 1  # 60 characters and "…"
    if field == "key":
        assert errors[0].endswith(f"The link's {huge[:MAX_VALUE]}… was ignored.")
    assert active_characters(at.error[0].value) == []
