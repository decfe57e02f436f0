"""A person's images for fine-tuning (issue 14): a zip of class folders, or images uploaded per class.

Two ways in, one result. :func:`read_image_folder_zip` reads an uploaded zip in torchvision's ImageFolder
layout (``cats/1.jpg``, ``dogs/7.png``; or the same under one common top folder, as zipping a folder gives);
:func:`dataset_from_uploads` takes the browser's per-class uploads (Teachable Machine's flow: name a class,
add images); :func:`read_image_folder` reads a folder or zip on this computer (the CLI's ``--data``). All
give a :class:`Dataset`: the class names, every image decoded by :func:`explorer.images.load_image` (which
refuses decompression bombs) as an RGB PIL image shrunk for training, and a report of every file skipped and
why. :func:`split_per_class` holds out a share of each
class (Teachable Machine holds out 15 %).

Nothing is ever written to disk: a zip is read from memory, one member at a time, so there is no temporary
folder to clean up when a session ends and no path in an archive can reach the file system. An archive is
checked against its own table of contents (the central directory) before any member is inflated: the number
of entries, encryption, zip bombs and the total size; then every member is read with a bound, and zipfile
checks its CRC, so a header that lies about a member's size is caught too.

Whole archives are refused (:class:`DatasetError`, one sentence) when they are not a zip, exceed a limit, hold
a zip bomb, hold encrypted members, are damaged, or leave fewer than two classes with images. Single members
are skipped, and reported, when they are links, lie outside the archive (absolute or ``../`` paths), sit at
the top level, are not images, are too large or cannot be decoded. Mac and Windows housekeeping files
(``__MACOSX/``, dot files, ``Thumbs.db``, ``desktop.ini``) are only counted, in :attr:`Dataset.ignored`.
"""

from __future__ import annotations

import functools
import io
import os
import random
import re
import stat
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Mapping, Sequence

from PIL import Image

from explorer.errors import DatasetError, ImageLoadError
from explorer.images import MAX_BYTES, UPLOAD_TYPES, load_image
from explorer.units import human_bytes

HELD_OUT_SHARE = 0.15
"""The share of every class held out to measure a fine-tuned model on images it never trained on (Teachable
Machine's 15 %)."""
MAX_ZIP_BYTES = 200 * 2**20
"""The largest zip read, and the Transfer learning page uploader's limit (Streamlit's default upload limit)."""
MAX_TOTAL_UNCOMPRESSED = 500 * 2**20
"""The most that all members of a zip may inflate to, as the zip declares it (checked before inflating)."""
MAX_FILES = 5_000
"""The most entries a zip (or a folder, for the CLI) may hold, folders and Mac's __MACOSX copies included."""
MAX_IMAGES = 2_000
"""The most images read: decoding a 640x480 photo and shrinking it takes about 5 ms, so 2,000 take about 10 s."""
MAX_SOURCE_PIXELS = 1_000_000_000
"""The most pixels decoded for one dataset, counted at the images' full size: decoding runs at about 90 million
pixels a second, so this bounds the work to about 11 s. A 200 MB zip of phone photos (12 million pixels in about
3 MB of JPEG) holds about 800 million; flat PNGs of 40 million pixels each take a few kB, and this stops them."""
MAX_CLASSES = 100
"""The most classes: a confusion matrix of 100 x 100 is already hard to read."""
MAX_COMPRESSION_RATIO = 100
"""A member declared larger than an image may be (:data:`explorer.images.MAX_BYTES`) that also inflates more
than this many times its stored size is a zip bomb, and the whole zip is refused. Smaller members are never a
danger (each is inflated with a bound of MAX_BYTES) and flat drawings saved as BMP really do compress 1,000x."""
MAX_TOC_BYTES_PER_ENTRY = 1_024
"""The table of contents may take at most this many bytes per allowed entry (a real entry takes 50-150), so a
forged one cannot make zipfile build millions of entries before :data:`MAX_FILES` is checked."""
KEEP_SIDE = 256
"""Images are kept with their shorter side at most this many pixels (torchvision's ImageNet weights resize to
232-256 before cropping 224), and their longer side at most 4x that."""
MAX_KEEP_SIDE = 1_024
"""The largest ``max_side`` a caller may ask for (EfficientNet-B7's weights resize to 600)."""
MAX_DECODED_BYTES = 512 * 2**20
"""The most memory that the kept (shrunk, RGB) images of one dataset may take."""
MAX_CLASS_NAME = 100
"""The longest class name used, in characters."""
SHOWN = 80
"""Characters of a person's file or folder name that a report or message repeats."""

IMAGE_SUFFIXES = frozenset(f".{suffix}" for suffix in UPLOAD_TYPES)
_SYSTEM_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}
_READ_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHOD_NAMES = {9: "Deflate64", 6: "Implode", 93: "Zstandard", 98: "PPMd", 99: "AES encryption"}
_ENCRYPTED = 0x1
_EMPTY_CLASS = "a class with no readable images"
_TOP_LEVEL = "at the top level, not in a class folder"
_DRIVE = re.compile(r"^[A-Za-z]:")
_END_RECORD = struct.Struct("<4s4H2LH")  # signature, disks (2), entries here, entries total, size, offset, comment


@dataclass(frozen=True)
class Skipped:
    """A file that was not used: its name as the person wrote it (cut to :data:`SHOWN` characters, control
    characters escaped; show it as data, never as Markdown or HTML) and why, in a few words."""

    name: str
    reason: str


@dataclass
class Dataset:
    """Images and their classes, with a report of what was left out.

    ``images[i]`` (an RGB PIL image, shrunk for training), ``labels[i]`` (an index into ``classes``) and
    ``names[i]`` (its file name, for showing the images a model got wrong) describe one image. ``classes`` are
    sorted; every class has at least one image. ``skipped`` lists the files left out and why; ``ignored`` counts
    the system files (``__MACOSX/``, ``.DS_Store``, ...) passed over without a word.
    """

    classes: list[str]
    images: list[Image.Image] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0

    def __len__(self) -> int:
        return len(self.images)

    def counts(self) -> dict[str, int]:
        """Return the number of images of each class, in class order."""
        counted = Counter(self.labels)
        return {name: counted[index] for index, name in enumerate(self.classes)}

    def nbytes(self) -> int:
        """Return the bytes the decoded images take (width x height x channels)."""
        return sum(image.width * image.height * len(image.getbands()) for image in self.images)


def shown(name: str) -> str:
    """Return a person's file name as a report repeats it: control characters escaped, cut to :data:`SHOWN`."""
    cut = name[:SHOWN]
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in cut)
    return text + ("…" if len(name) > SHOWN else "")


def _quoted(name: str) -> str:
    return f"'{shown(name)}'"


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    """Return ``image`` with its shorter side at most ``side`` and its longer side at most 4 x ``side``."""
    width, height = image.size
    scale = min(1.0, side / min(width, height), 4 * side / max(width, height))
    if scale >= 1.0:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)


def _check_side(max_side: int) -> None:
    if not 8 <= max_side <= MAX_KEEP_SIDE:
        raise DatasetError(f"Images can be kept at 8 to {MAX_KEEP_SIDE:,} pixels a side, not {max_side}.")


def _skip_summary(skipped: list[Skipped]) -> str:
    skipped = [item for item in skipped if item.reason != _EMPTY_CLASS]
    if not skipped:
        return ""
    reason, _ = Counter(item.reason.split(" (")[0].split(":")[0] for item in skipped).most_common(1)[0]
    files = "file was" if len(skipped) == 1 else "files were"
    return f" ({len(skipped):,} {files} skipped, most as '{reason}')"


class _Collector:
    """Decodes images one at a time into a dataset, within the limits on count and kept memory."""

    def __init__(self, max_side: int) -> None:
        self.max_side = max_side
        self.by_class: dict[str, list[tuple[str, Image.Image]]] = {}
        self.skipped: list[Skipped] = []
        self.ignored = 0
        self.kept_bytes = 0
        self.source_pixels = 0

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(Skipped(shown(name), reason))

    def add(self, class_name: str, name: str, data: bytes) -> None:
        """Decode ``data`` into class ``class_name``, or report it as skipped."""
        try:
            image = load_image(data)
        except ImageLoadError as error:
            self.skip(name, f"unreadable image: {error}")
            return
        self.source_pixels += image.width * image.height
        if self.source_pixels > MAX_SOURCE_PIXELS:
            raise DatasetError(f"The images hold more than {MAX_SOURCE_PIXELS:,} pixels together, "
                               f"which would take minutes to decode; use fewer or smaller images.")
        image = _shrunk(image, self.max_side)
        self.kept_bytes += image.width * image.height * 3
        if self.kept_bytes > MAX_DECODED_BYTES:
            raise DatasetError(f"The images take more than {human_bytes(MAX_DECODED_BYTES)} once decoded at "
                               f"{self.max_side} pixels a side; use fewer images.")
        self.by_class.setdefault(class_name, []).append((name, image))

    def dataset(self, what: str, class_names: list[str]) -> Dataset:
        """Return the dataset; classes without images are reported and left out.

        Raises:
            DatasetError: fewer than two classes have images.
        """
        for class_name in class_names:
            if class_name not in self.by_class:
                self.skip(class_name + "/", _EMPTY_CLASS)
        classes = sorted(self.by_class)
        if not classes and self.skipped and all(s.reason == _TOP_LEVEL for s in self.skipped):
            raise DatasetError(f"{what} holds its {len(self.skipped):,} files at the top level, not in class folders; "
                               f"put each class's images in a folder named after the class (cats/1.jpg, dogs/7.png).")
        if len(classes) < 2:
            found = (f"images in only one class ({_quoted(classes[0])})" if classes else "no images")
            raise DatasetError(f"{what} holds {found}, and at least two classes are needed"
                               f"{_skip_summary(self.skipped)}.")
        result = Dataset(classes=classes, skipped=self.skipped, ignored=self.ignored)
        for label, class_name in enumerate(classes):
            for name, image in self.by_class[class_name]:
                result.images.append(image)
                result.labels.append(label)
                result.names.append(name)
        return result


def _declared_entries(data: bytes) -> tuple[int, int] | None:
    """Return (entries, bytes) of the zip's table of contents as its end record declares them, or None if none."""
    start = data.rfind(b"PK\x05\x06", max(0, len(data) - _END_RECORD.size - 65_535))
    if start < 0 or len(data) - start < _END_RECORD.size:
        return None
    _, _, _, _, entries, size, _, _ = _END_RECORD.unpack_from(data, start)
    locator = start - 20
    if (entries == 0xFFFF or size == 0xFFFFFFFF) and locator >= 56 and data[locator:locator + 4] == b"PK\x06\x07":
        record = locator - 56  # the zip64 end record sits just before its locator
        if data[record:record + 4] == b"PK\x06\x06":
            entries, size = struct.unpack_from("<2Q", data, record + 32)
    return entries, size


def _open_zip(data: bytes) -> zipfile.ZipFile:
    """Return the zip in ``data``, its table of contents checked against the limits.

    Raises:
        DatasetError: too large, not a zip, damaged, empty or holding too many entries.
    """
    if len(data) > MAX_ZIP_BYTES:
        raise DatasetError(f"The zip is {human_bytes(len(data))}, larger than the {human_bytes(MAX_ZIP_BYTES)} a zip may be; nothing was read.")
    declared = _declared_entries(data)
    if declared is None:
        raise DatasetError("This file is not a zip archive; zip a folder that holds one folder of images per class.")
    entries, toc_bytes = declared
    if entries > MAX_FILES:
        raise DatasetError(f"The zip holds {entries:,} entries, more than the {MAX_FILES:,} a zip may hold; nothing was read.")
    if toc_bytes > MAX_FILES * MAX_TOC_BYTES_PER_ENTRY:
        raise DatasetError(f"The zip's table of contents takes {human_bytes(toc_bytes)}, far more than "
                           f"{MAX_FILES:,} entries need; the archive is damaged or forged.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, struct.error) as error:
        raise DatasetError(f"The zip archive is damaged and cannot be read ({str(error)[:SHOWN]}).") from None
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise DatasetError(f"The zip holds {len(infos):,} entries, more than the {MAX_FILES:,} a zip may hold; nothing was read.")
    if not infos:
        raise DatasetError("The zip is empty; it should hold one folder of images per class.")
    return archive


def _check_declared_sizes(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse encrypted members, zip bombs and too much data, from the table of contents alone.

    Raises:
        DatasetError: a member is encrypted, a member is a zip bomb, or the members add up to too much.
    """
    for info in infos:
        if info.flag_bits & _ENCRYPTED:
            raise DatasetError(f"The zip holds encrypted files ({_quoted(info.filename)}); "
                               f"zip the images again without a password.")
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise DatasetError(f"The zip holds a zip bomb: {_quoted(info.filename)} would inflate from "
                               f"{human_bytes(info.compress_size)} to {human_bytes(info.file_size)} "
                               f"({ratio:,.0f} times); nothing was read.")
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise DatasetError(f"The zip's files add up to {human_bytes(total)} uncompressed, more than the "
                           f"{human_bytes(MAX_TOTAL_UNCOMPRESSED)} a dataset may take; nothing was read.")


def _parts(info: zipfile.ZipInfo) -> tuple[str, ...] | str | None:
    """Return the member's path parts, or why it is skipped (a few words), "" for a system file, None for a folder."""
    name = info.filename.replace("\\", "/")  # some Windows tools write backslashes
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "a link"
    if name.endswith("/") or kind == stat.S_IFDIR:
        return None
    if name.startswith("/") or _DRIVE.match(name) or ".." in name.split("/"):
        return "outside the archive (absolute or ../ path)"
    if kind not in (0, stat.S_IFREG):
        return "not a regular file"
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if not parts or any(part.startswith(".") or part.lower() in _SYSTEM_NAMES for part in parts):
        return ""
    return parts


def _strip_common_top(paths: list[tuple[str, ...]]) -> int:
    """Return how many leading folders all paths share and can be dropped (a zipped folder: ``root/cats/1.jpg``)."""
    depth = 0
    while paths and all(len(path) > depth + 1 for path in paths) \
            and len({path[depth] for path in paths}) == 1 and any(len(path) > depth + 2 for path in paths):
        depth += 1
    return depth


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Return the member's bytes, read with a bound of its declared size.

    Raises:
        DatasetError: the member does not match its entry in the table of contents (size, CRC, header).
    """
    try:
        with archive.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error) as error:
        raise DatasetError(f"The zip is damaged or forged: {_quoted(info.filename)} does not match its entry in "
                           f"the table of contents ({str(error)[:SHOWN]}).") from None
    if len(data) != info.file_size:
        raise DatasetError(f"The zip is damaged or forged: {_quoted(info.filename)} holds {len(data):,} bytes but "
                           f"its entry says {info.file_size:,}.")
    return data


@dataclass(frozen=True)
class _Member:
    """A file of a zip or folder that may be an image: its name as written, path parts, size and how to read it."""

    name: str
    parts: tuple[str, ...]
    size: int
    read: Callable[[], bytes]
    problem: str = ""  # why it cannot be read, known from the container (a compression method)


def _collect_classes(collector: _Collector, members: list[_Member], what: str) -> Dataset:
    """Return the dataset of class folders in ``members`` (ImageFolder's layout, perhaps under common folders).

    Raises:
        DatasetError: over :data:`MAX_CLASSES` or :data:`MAX_IMAGES` (checked before decoding), too much decoded
            image data, a member that cannot be read, or fewer than two classes with images.
    """
    depth = _strip_common_top([member.parts for member in members])
    candidates: list[tuple[_Member, str]] = []
    for member in members:
        parts = member.parts[depth:]
        suffix = PurePosixPath(parts[-1]).suffix.lower()
        if len(parts) < 2:
            collector.skip(member.name, _TOP_LEVEL)
        elif suffix not in IMAGE_SUFFIXES:
            collector.skip(member.name, f"not an image ({shown(suffix) or 'no extension'})")
        elif len(parts[0]) > MAX_CLASS_NAME:
            collector.skip(member.name, f"in a class folder named with more than {MAX_CLASS_NAME} characters")
        elif member.size > MAX_BYTES:
            collector.skip(member.name, f"too large ({human_bytes(member.size)}; images up to "
                                        f"{human_bytes(MAX_BYTES)} are read)")
        elif member.problem:
            collector.skip(member.name, member.problem)
        else:
            candidates.append((member, parts[0]))
    class_names = sorted({class_name for _, class_name in candidates})
    if len(class_names) > MAX_CLASSES:
        raise DatasetError(f"{what} has {len(class_names):,} class folders with images, more than the {MAX_CLASSES} "
                           f"classes a dataset may have; nothing was read.")
    if len(candidates) > MAX_IMAGES:
        raise DatasetError(f"{what} holds {len(candidates):,} images, more than the {MAX_IMAGES:,} a dataset may have; nothing was read.")
    for member, class_name in candidates:
        collector.add(class_name, member.name, member.read())
    return collector.dataset(what, class_names)


def read_image_folder_zip(data: bytes, max_side: int = KEEP_SIDE) -> Dataset:
    """Return the images of an uploaded zip of class folders (the ImageFolder layout).

    Classes are the top folders (``cats/1.jpg``), or the folders under one common top folder
    (``pets/cats/1.jpg``); images in sub-folders of a class belong to it. Nothing is written to disk. The table
    of contents is checked before anything is inflated (see the module's limits), and every member is read with
    a bound. Images are kept with their shorter side at most ``max_side`` pixels.

    Returns:
        The dataset, with the files skipped and why.

    Raises:
        DatasetError: not a zip, damaged or forged, larger than :data:`MAX_ZIP_BYTES`, more than
            :data:`MAX_FILES` entries, :data:`MAX_TOTAL_UNCOMPRESSED` bytes, :data:`MAX_IMAGES` images or
            :data:`MAX_CLASSES` classes, too much decoded image data, encrypted members, a zip bomb, fewer than
            two classes with images, or ``max_side`` out of range.
    """
    _check_side(max_side)
    archive = _open_zip(data)
    infos = archive.infolist()
    _check_declared_sizes(infos)
    collector = _Collector(max_side)
    members: list[_Member] = []
    for info in infos:
        parts = _parts(info)
        if isinstance(parts, tuple):
            problem = ""
            if info.compress_type not in _READ_METHODS:
                method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
                problem = f"compressed with {method}, which is not read; zip it again"
            members.append(_Member(info.filename, parts, info.file_size,
                                   functools.partial(_read_member, archive, info), problem))
        elif parts:
            collector.skip(info.filename, parts)
        elif parts == "":
            collector.ignored += 1
    return _collect_classes(collector, members, "The zip")


def _is_system(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SYSTEM_NAMES


def _read_file(path: Path, name: str) -> bytes:
    """Return the bytes of the regular file at ``path``, at most MAX_BYTES + 1 of them, never through a link.

    Raises:
        DatasetError: the file cannot be read (gone, no permission, replaced by a link).
    """
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(handle, "rb") as file:
            return file.read(MAX_BYTES + 1)
    except OSError as error:
        raise DatasetError(f"The file {_quoted(name)} cannot be read ({error.strerror or error}).") from None


def _read_image_folder_dir(folder: Path, collector: _Collector) -> Dataset:
    """Return the dataset of class folders under ``folder``, links neither followed nor read.

    Raises:
        DatasetError: more than :data:`MAX_FILES` entries or :data:`MAX_TOTAL_UNCOMPRESSED` bytes, a file that
            cannot be read, or any refusal of :func:`_collect_classes`.
    """
    members: list[_Member] = []
    entries = total = 0
    def unreadable(error: OSError) -> None:
        collector.skip(Path(error.filename).relative_to(folder).as_posix() + "/", "a folder that cannot be read")

    for root, folders, files in os.walk(folder, onerror=unreadable, followlinks=False):
        here = Path(root)
        relative = here.relative_to(folder).parts
        for name in sorted(folders):
            if (here / name).is_symlink():
                collector.skip("/".join((*relative, name, "")), "a link")
                folders.remove(name)
            elif _is_system(name):
                collector.ignored += 1
                folders.remove(name)  # never walk .git or __MACOSX
        folders.sort()
        entries += len(folders) + len(files)
        if entries > MAX_FILES:
            raise DatasetError(f"The folder holds more than {MAX_FILES:,} files and folders, the most a dataset "
                               f"folder may hold; nothing was read.")
        for name in sorted(files):
            path, parts = here / name, (*relative, name)
            shown_name = "/".join(parts)
            status = path.lstat()
            if stat.S_ISLNK(status.st_mode):
                collector.skip(shown_name, "a link")
            elif not stat.S_ISREG(status.st_mode):
                collector.skip(shown_name, "not a regular file")
            elif _is_system(name):
                collector.ignored += 1
            else:
                total += status.st_size
                members.append(_Member(shown_name, parts, status.st_size,
                                       functools.partial(_read_file, path, shown_name)))
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise DatasetError(f"The folder's files add up to {human_bytes(total)}, more than the "
                           f"{human_bytes(MAX_TOTAL_UNCOMPRESSED)} a dataset may take; nothing was read.")
    return _collect_classes(collector, members, "The folder")


def read_image_folder(path: str | Path, max_side: int = KEEP_SIDE) -> Dataset:
    """Return the images of a folder of class folders, or of a zip of them, on this computer (the CLI's --data).

    A folder is read as a zip is (same layout, limits and report); links are reported and never followed, and
    hidden folders such as ``.git`` are not walked. A file is read as a zip, after its size is checked.

    Returns:
        The dataset, with the files skipped and why.

    Raises:
        DatasetError: nothing at ``path``, or any refusal of :func:`read_image_folder_zip` (for a file) or of a
            folder's own reading (too many entries or bytes, too many classes or images, fewer than two classes).
    """
    _check_side(max_side)
    path = Path(path)
    if path.is_dir():
        return _read_image_folder_dir(path, _Collector(max_side))
    if not path.is_file():
        raise DatasetError(f"There is no folder or zip file at {_quoted(str(path))}.")
    size = path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise DatasetError(f"The zip is {human_bytes(size)}, larger than the {human_bytes(MAX_ZIP_BYTES)} a zip may be; nothing was read.")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"The file {_quoted(str(path))} cannot be read ({error.strerror or error}).") from None
    return read_image_folder_zip(data, max_side)


def dataset_from_uploads(classes: Mapping[str, list[tuple[str, bytes]]] | Sequence[tuple[str, list[tuple[str, bytes]]]],
                         max_side: int = KEEP_SIDE) -> Dataset:
    """Return the images uploaded per class in the browser: class name -> [(file name, bytes), ...], as a mapping or
    as (name, files) pairs (the page's classes, whose names a person may have typed twice).

    Class names are used as typed, without surrounding spaces. The limits of a zip apply: at most
    :data:`MAX_CLASSES` classes, :data:`MAX_IMAGES` images and :data:`MAX_TOTAL_UNCOMPRESSED` bytes, each image
    as :func:`explorer.images.load_image` reads it. Files that are not images we can read are skipped and
    reported.

    Returns:
        The dataset, with the files skipped and why.

    Raises:
        DatasetError: a class without a name, two classes with the same name, a name too long, over a limit,
            fewer than two classes with images, or ``max_side`` out of range.
    """
    _check_side(max_side)
    pairs = list(classes.items()) if isinstance(classes, Mapping) else list(classes)
    names = [name.strip() for name, _ in pairs]
    if any(not name for name in names):
        raise DatasetError("A class has no name; give every class a name.")
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise DatasetError(f"Two classes are both named {_quoted(repeated[0])}; give every class its own name.")
    long = [name for name in names if len(name) > MAX_CLASS_NAME]
    if long:
        raise DatasetError(f"The class name {_quoted(long[0])} is longer than {MAX_CLASS_NAME} characters.")
    if len(names) > MAX_CLASSES:
        raise DatasetError(f"There are {len(names):,} classes, more than the {MAX_CLASSES} a dataset may have.")
    count = sum(len(files) for _, files in pairs)
    if count > MAX_IMAGES:
        raise DatasetError(f"There are {count:,} images, more than the {MAX_IMAGES:,} a dataset may have.")
    total = sum(len(data) for _, files in pairs for _, data in files)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise DatasetError(f"The images add up to {human_bytes(total)}, more than the "
                           f"{human_bytes(MAX_TOTAL_UNCOMPRESSED)} a dataset may take.")
    collector = _Collector(max_side)
    for class_name, (_, files) in zip(names, pairs):
        for file_name, data in files:
            collector.add(class_name, file_name, data)
    return collector.dataset("The upload", names)


def split_per_class(dataset: Dataset, held_out: float = HELD_OUT_SHARE, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Return (training, held-out) parts of ``dataset``, holding out ``held_out`` of every class.

    Each class gives ``round(held_out * n)`` of its ``n`` images, but at least one when it has two or more and
    never all of them (a class of one image is only trained on). The same seed gives the same split; the images
    keep their order within each part. Both parts have all the classes; the report (skipped, ignored) stays
    with the training part.

    Returns:
        The training part and the held-out part.

    Raises:
        DatasetError: ``held_out`` is not between 0 (inclusive) and 1.
    """
    if not 0 <= held_out < 1:
        raise DatasetError(f"The share held out must be at least 0 and below 1, not {held_out}.")
    generator = random.Random(seed)
    chosen: set[int] = set()
    for label in range(len(dataset.classes)):
        indices = [index for index, value in enumerate(dataset.labels) if value == label]
        count = round(held_out * len(indices))
        if len(indices) >= 2 and held_out > 0:
            count = min(max(count, 1), len(indices) - 1)
        chosen.update(generator.sample(indices, min(count, len(indices))))
    parts = (Dataset(list(dataset.classes), skipped=list(dataset.skipped), ignored=dataset.ignored),
             Dataset(list(dataset.classes)))
    for index, image in enumerate(dataset.images):
        part = parts[index in chosen]
        part.images.append(image)
        part.labels.append(dataset.labels[index])
        part.names.append(dataset.names[index])
    return parts
