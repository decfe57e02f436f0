"""The dataset reader of issue 14: good zips and uploads give the right classes; every bad archive, generated
here, is refused or skipped with its reason; the held-out split is per class and deterministic."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import numpy as np
import pytest
from PIL import Image

from explorer.errors import DatasetError
from explorer.transfer import data
from explorer.transfer.data import (
    MAX_BYTES, MAX_CLASSES, MAX_FILES, MAX_IMAGES, Dataset, Skipped, dataset_from_uploads,
    read_image_folder, read_image_folder_zip, split_per_class,
)


def encode(colour: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (6, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


RED, GREEN, BLUE = encode((255, 0, 0)), encode((0, 255, 0), "JPEG"), encode((0, 0, 255))


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def good_entries(prefix: str = "") -> list[tuple[str, bytes]]:
    return ([(f"{prefix}cats/{index}.png", RED) for index in range(3)]
            + [(f"{prefix}dogs/{index}.jpg", GREEN) for index in range(2)]
            + [(f"{prefix}dogs/puppies/small.png", BLUE)])


def refused(archive: bytes) -> str:
    with pytest.raises(DatasetError) as error:
        read_image_folder_zip(archive)
    message = str(error.value)
    assert "\n" not in message and message.endswith("."), message
    return message


def reasons(dataset: Dataset) -> dict[str, str]:
    return {item.name: item.reason for item in dataset.skipped}


def patch(archive: bytes, signature: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Write ``value`` at ``offset`` into every record starting with ``signature`` (local or central headers)."""
    patched = bytearray(archive)
    start = patched.find(signature)
    while start >= 0:
        struct.pack_into(fmt, patched, start + offset, value)
        start = patched.find(signature, start + 4)
    return bytes(patched)


LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"


@pytest.mark.parametrize("prefix", ["", "pets/", "data/train/"], ids=["class-folders", "one-top-folder", "two-top"])
def test_a_good_zip_gives_its_classes_and_images(prefix):
    dataset = read_image_folder_zip(make_zip(good_entries(prefix) + [(f"{prefix}dogs/", b"")]))
    assert dataset.classes == ["cats", "dogs"]
    assert dataset.counts() == {"cats": 3, "dogs": 3}  # sub-folders of a class belong to it, as in ImageFolder
    assert dataset.skipped == [] and len(dataset) == 6
    assert all(image.mode == "RGB" and image.size == (6, 4) for image in dataset.images)
    first_dog = dataset.labels.index(1)
    assert dataset.names[first_dog] == f"{prefix}dogs/0.jpg"
    assert tuple(np.asarray(dataset.images[0])[0, 0]) == (255, 0, 0)


def test_mac_and_windows_housekeeping_is_ignored_without_a_word():
    entries = good_entries("pets/") + [("__MACOSX/pets/cats/._0.png", b"\x00\x05\x16\x07"),
                                       ("pets/.DS_Store", b"\x00\x00\x00\x01Bud1"), ("pets/dogs/Thumbs.db", b"x")]
    dataset = read_image_folder_zip(make_zip(entries))
    assert dataset.classes == ["cats", "dogs"] and dataset.skipped == [] and dataset.ignored == 3


def test_large_images_are_kept_with_their_shorter_side_at_the_limit():
    entries = [("a/wide.png", encode((1, 2, 3), size=(900, 600))), ("b/small.png", RED)]
    dataset = read_image_folder_zip(make_zip(entries), max_side=64)
    assert [image.size for image in dataset.images] == [(96, 64), (6, 4)]


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("entry, reason", [
    (("/etc/cats/passwd.png", RED), "outside the archive (absolute or ../ path)"),
    (("cats/../../escape.png", RED), "outside the archive (absolute or ../ path)"),
    (("..\\..\\windows.png", RED), "outside the archive (absolute or ../ path)"),
    (("C:/Windows/evil.png", RED), "outside the archive (absolute or ../ path)"),
    ((symlink("cats/link.png"), b"../../../etc/passwd"), "a link"),
    (("cats/notes.txt", b"just some text"), "not an image (.txt)"),
    (("dogs/README", b"no extension"), "not an image (no extension)"),
    (("top.png", RED), "at the top level, not in a class folder"),
    (("cats/fake.jpg", b"this is text pretending to be a JPEG"),
     "unreadable image: This file is not an image we can read; use PNG, JPEG, WebP, BMP, GIF or TIFF."),
    (("cats/truncated.png", encode((9, 9, 9), size=(300, 300))[:200]), "unreadable image: The image"),
    (("cats/nested.zip", make_zip([("a/1.png", RED)])), "not an image (.zip)"),
], ids=["absolute", "dot-dot", "backslash-dot-dot", "drive", "symlink", "text", "no-extension", "top-level",
        "fake-jpeg", "truncated", "nested-zip"])
def test_each_bad_member_is_skipped_with_its_reason(entry, reason):
    dataset = read_image_folder_zip(make_zip(good_entries() + [entry]))
    assert dataset.counts() == {"cats": 3, "dogs": 3}
    name = entry[0] if isinstance(entry[0], str) else entry[0].filename
    assert len(dataset.skipped) == 1 and dataset.skipped[0].name == name
    assert dataset.skipped[0].reason.startswith(reason)


def test_a_member_larger_than_an_image_may_be_is_skipped_unread():
    big = bytes(MAX_BYTES + 2**20)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # stored: no zip bomb, just large
        for name, content in good_entries() + [("cats/huge.bmp", big)]:
            archive.writestr(name, content)
    dataset = read_image_folder_zip(buffer.getvalue())
    assert reasons(dataset) == {"cats/huge.bmp": "too large (21.00 MiB; images up to 20.00 MiB are read)"}


def test_a_member_compressed_with_a_method_zipfile_cannot_read_is_skipped():
    archive = make_zip(good_entries() + [("cats/deflate64.png", RED)])
    forged = bytearray(archive)
    struct.pack_into("<H", forged, archive.rfind(CENTRAL) + 10, 9)  # the method Windows uses for large files
    dataset = read_image_folder_zip(bytes(forged))
    assert reasons(dataset) == {"cats/deflate64.png": "compressed with Deflate64, which is not read; zip it again"}


def test_names_with_markdown_html_and_control_characters_are_reported_as_data():
    name = "cats/<script>alert(1)</script> **bold** [x](http://e)\n.txt"
    class_name = "<img src=x onerror=alert(1)> _x_ **dogs**"  # a folder name cannot hold a slash
    dataset = read_image_folder_zip(make_zip(good_entries() + [(name, b"text"), (f"{class_name}/1.png", RED)]))
    assert dataset.classes == ["<img src=x onerror=alert(1)> _x_ **dogs**", "cats", "dogs"]
    assert dataset.skipped == [Skipped("cats/<script>alert(1)</script> **bold** [x](http://e)\\n.txt",
                                       "not an image (.txt)")]


def test_a_long_name_is_cut_in_the_report():
    name = "cats/" + "n" * 5000 + ".txt"
    skipped = read_image_folder_zip(make_zip(good_entries() + [(name, b"text")])).skipped[0]
    assert skipped.name == name[:data.SHOWN] + "…" and len(skipped.name) == data.SHOWN + 1


def test_a_class_folder_without_readable_images_is_reported_and_left_out():
    dataset = read_image_folder_zip(make_zip(good_entries() + [("birds/broken.png", b"not a png")]))
    assert dataset.classes == ["cats", "dogs"]
    assert reasons(dataset)["birds/"] == "a class with no readable images"


# Archives refused whole -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MiB of zeros in one member, about 200 KB compressed: written streaming, never held inflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in good_entries():
            archive.writestr(name, content)
        with archive.open("cats/bomb.png", "w") as member:
            chunk = bytes(2**20)
            for _ in range(200):
                member.write(chunk)
    return buffer.getvalue()


def peak_rss_growth(action) -> int:
    """Return how far the process's peak resident memory rose above its current size during ``action()``."""
    def rss(key: str) -> int:
        return int(open("/proc/self/status").read().split(key + ":")[1].split()[0]) * 1024

    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak (VmHWM) to the current size
    before = rss("VmRSS")
    action()
    return rss("VmHWM") - before


def test_a_zip_bomb_is_refused_before_anything_is_inflated(bomb):
    assert len(bomb) < 400_000
    messages = []

    def refuse():
        messages.append(refused(bomb))

    grown = peak_rss_growth(refuse)
    assert messages[0].startswith("The zip holds a zip bomb: 'cats/bomb.png' would inflate from ")
    assert "to 200.00 MiB (" in messages[0] and messages[0].endswith(" times); nothing was read.")
    assert grown < 16 * 2**20, grown


def test_many_members_that_add_up_to_too_much_are_refused_before_inflating():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(27):  # each under the image limit, 513 MiB together
            archive.writestr(f"cats/{index}.bmp", bytes(19 * 2**20))
    message = refused(buffer.getvalue())
    assert message == ("The zip's files add up to 513.00 MiB uncompressed, more than the 500.00 MiB a dataset may "
                       "take; nothing was read.")


@pytest.mark.parametrize("declared", [1_000, 50_000], ids=["smaller", "larger"])
def test_a_header_that_lies_about_a_size_is_refused(declared):
    archive = make_zip(good_entries() + [("cats/liar.png", bytes(10_000))])
    # the last central header is the liar's; its uncompressed size sits 24 bytes in
    where = archive.rfind(CENTRAL)
    forged = bytearray(archive)
    struct.pack_into("<L", forged, where + 24, declared)
    message = refused(bytes(forged))
    assert message.startswith("The zip is damaged or forged: 'cats/liar.png' ")


def test_an_encrypted_member_is_refused():
    archive = patch(make_zip(good_entries()), LOCAL, 6, "<H", 0x1)
    archive = patch(archive, CENTRAL, 8, "<H", 0x1)
    assert refused(archive) == ("The zip holds encrypted files ('cats/0.png'); zip the images again without a "
                                "password.")


def test_too_many_entries_are_refused_from_the_end_record():
    entries = [(f"cats/{index}.png", RED) for index in range(MAX_FILES + 1)]
    assert refused(make_zip(entries)) == (f"The zip holds {MAX_FILES + 1:,} entries, more than the {MAX_FILES:,} a "
                                          f"zip may hold; nothing was read.")


def test_too_many_entries_are_refused_when_the_end_record_lies():
    archive = bytearray(make_zip([(f"cats/{index}.png", b"") for index in range(MAX_FILES + 1)]))
    end = archive.rfind(b"PK\x05\x06")
    struct.pack_into("<2H", archive, end + 8, 2, 2)  # claims two entries
    assert refused(bytes(archive)) == (f"The zip holds {MAX_FILES + 1:,} entries, more than the {MAX_FILES:,} a "
                                       f"zip may hold; nothing was read.")


def test_a_forged_table_of_contents_size_is_refused_before_parsing():
    archive = bytearray(make_zip(good_entries()))
    end = archive.rfind(b"PK\x05\x06")
    struct.pack_into("<L", archive, end + 12, 100 * 2**20)
    assert "far more than 5,000 entries need" in refused(bytes(archive))


def test_too_many_classes_are_refused_before_decoding():
    entries = [(f"class {index}/1.png", RED) for index in range(MAX_CLASSES + 1)]
    assert refused(make_zip(entries)) == (f"The zip has {MAX_CLASSES + 1} class folders with images, more than the "
                                          f"{MAX_CLASSES} classes a dataset may have; nothing was read.")


def test_too_many_images_are_refused_before_decoding():
    entries = [(f"{'ab'[index % 2]}/{index}.png", RED) for index in range(MAX_IMAGES + 1)]
    assert refused(make_zip(entries)) == (f"The zip holds {MAX_IMAGES + 1:,} images, more than the {MAX_IMAGES:,} a "
                                          f"dataset may have; nothing was read.")


def test_images_beyond_the_decoding_budget_are_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_SOURCE_PIXELS", 5 * 24)  # five of the 6x4 test images
    assert refused(make_zip(good_entries())) == ("The images hold more than 120 pixels together, which would "
                                                 "take minutes to decode; use fewer or smaller images.")


def test_images_beyond_the_memory_for_kept_images_are_refused(monkeypatch):
    monkeypatch.setattr(data, "MAX_DECODED_BYTES", 5 * 24 * 3)
    assert refused(make_zip(good_entries())).startswith("The images take more than 360 B once decoded at 256 pixels")


def test_a_zip_over_the_upload_limit_is_refused_unread(monkeypatch):
    monkeypatch.setattr(data, "MAX_ZIP_BYTES", 1_000)
    assert refused(make_zip(good_entries())).startswith("The zip is ")


@pytest.mark.parametrize("content, message", [
    (RED, "This file is not a zip archive; zip a folder that holds one folder of images per class."),
    (b"", "This file is not a zip archive; zip a folder that holds one folder of images per class."),
    (b"PK\x03\x04 a local header and nothing else", "This file is not a zip archive"),
    (make_zip([]), "The zip is empty; it should hold one folder of images per class."),
    (make_zip([("cats/", b""), ("dogs/", b"")]), "The zip holds no images, and at least two classes are needed."),
    (make_zip([("cats/1.png", RED), ("cats/2.png", GREEN), ("cats/x.txt", b"x")]),
     "The zip holds images in only one class ('cats'), and at least two classes are needed "
     "(1 file was skipped, most as 'not an image')."),
    (make_zip([("pets/cats/1.png", RED), ("pets/cats/2.png", GREEN)]),
     "The zip holds images in only one class ('cats'), and at least two classes are needed."),
], ids=["an-image", "nothing", "truncated", "empty-zip", "folders-only", "one-class", "one-class-under-a-top"])
def test_archives_without_two_classes_of_images_are_refused(content, message):
    assert refused(content).startswith(message)


def test_a_damaged_table_of_contents_is_one_sentence():
    archive = bytearray(make_zip(good_entries()))
    archive[archive.find(CENTRAL):archive.find(CENTRAL) + 4] = b"XXXX"
    assert refused(bytes(archive)).startswith("The zip archive is damaged and cannot be read (")


# Folders and zip files on this computer (the CLI's --data) ------------------------------------------------------


def write_tree(root, entries: list[tuple[str, bytes]]) -> None:
    for name, content in entries:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


@pytest.mark.parametrize("prefix", ["", "pets/"], ids=["class-folders", "one-top-folder"])
def test_a_folder_reads_as_its_zip_would(tmp_path, prefix):
    write_tree(tmp_path, good_entries(prefix) + [(f"{prefix}notes.txt", b"x"), (".git/objects/ab", b"x"),
                                                 ("cats/.DS_Store", b"x")])
    dataset = read_image_folder(tmp_path)
    assert dataset.classes == ["cats", "dogs"] and dataset.counts() == {"cats": 3, "dogs": 3}
    assert reasons(dataset) == {f"{prefix}notes.txt": "at the top level, not in a class folder"}
    assert dataset.ignored == 2  # .git is not walked: one entry, not its files


def test_links_in_a_folder_are_reported_and_never_followed(tmp_path):
    outside = tmp_path / "outside"
    write_tree(outside, [("birds/1.png", RED), ("secret.png", BLUE)])
    data_dir = tmp_path / "data"
    write_tree(data_dir, good_entries())
    (data_dir / "birds").symlink_to(outside / "birds", target_is_directory=True)
    (data_dir / "cats" / "linked.png").symlink_to(outside / "secret.png")
    dataset = read_image_folder(data_dir)
    assert dataset.classes == ["cats", "dogs"] and dataset.counts() == {"cats": 3, "dogs": 3}
    assert reasons(dataset) == {"birds/": "a link", "cats/linked.png": "a link"}


def test_a_zip_file_on_disk_is_read_as_an_upload(tmp_path):
    (tmp_path / "pets.zip").write_bytes(make_zip(good_entries("pets/")))
    assert read_image_folder(tmp_path / "pets.zip").counts() == {"cats": 3, "dogs": 3}
    with pytest.raises(DatasetError, match="^There is no folder or zip file at '.*missing'.$"):
        read_image_folder(tmp_path / "missing")


def test_a_folder_with_too_many_entries_is_refused_while_walking(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MAX_FILES", 20)  # 5,001 real folders take seconds to delete on some disks
    for index in range(7):
        write_tree(tmp_path, [(f"class {index}/{name}.png", RED) for name in "abc"])
    with pytest.raises(DatasetError, match="^The folder holds more than 20 files and folders, the most a dataset folder may hold; nothing was read.$"):
        read_image_folder(tmp_path)


# Uploads per class -------------------------------------------------------------------------------------------


def test_uploads_per_class_give_the_same_dataset_and_report():
    dataset = dataset_from_uploads({"  dogs ": [("d.jpg", GREEN)],
                                    "cats": [("a.png", RED), ("b.png", BLUE), ("notes.txt", b"hello")]})
    assert dataset.classes == ["cats", "dogs"] and dataset.counts() == {"cats": 2, "dogs": 1}
    assert [name for name in dataset.names] == ["a.png", "b.png", "d.jpg"]
    assert dataset.skipped[0].name == "notes.txt" and dataset.skipped[0].reason.startswith("unreadable image: ")


@pytest.mark.parametrize("classes, message", [
    ({"cats": [("a.png", RED)], " ": [("b.png", RED)]}, "A class has no name; give every class a name."),
    ({"cats": [("a.png", RED)], "cats ": [("b.png", RED)]},
     "Two classes are both named 'cats'; give every class its own name."),
    ({"cats": [("a.png", RED)], "dogs": [("b.txt", b"text")]},
     "The upload holds images in only one class ('cats'), and at least two classes are needed "
     "(1 file was skipped, most as 'unreadable image')."),
    ({f"c{index}": [("a.png", RED)] for index in range(MAX_CLASSES + 1)},
     f"There are {MAX_CLASSES + 1} classes, more than the {MAX_CLASSES} a dataset may have."),
    ({"a": [("a.png", RED)] * MAX_IMAGES, "b": [("b.png", RED)]},
     f"There are {MAX_IMAGES + 1:,} images, more than the {MAX_IMAGES:,} a dataset may have."),
    ({"x" * 101: [("a.png", RED)], "b": [("b.png", RED)]}, "The class name 'xxxx"),
], ids=["no-name", "same-name", "one-class", "too-many-classes", "too-many-images", "long-name"])
def test_bad_uploads_are_refused(classes, message):
    with pytest.raises(DatasetError) as error:
        dataset_from_uploads(classes)
    assert str(error.value).startswith(message)


# Held-out split ----------------------------------------------------------------------------------------------


def numbered(counts: dict[str, int]) -> Dataset:
    dataset = Dataset(sorted(counts))
    for label, name in enumerate(dataset.classes):
        for index in range(counts[name]):
            dataset.images.append(Image.new("RGB", (1, 1)))
            dataset.labels.append(label)
            dataset.names.append(f"{name}/{index}")
    return dataset


def test_the_split_holds_out_a_share_of_every_class():
    dataset = numbered({"a": 100, "b": 20, "c": 2, "d": 1})
    train, held = split_per_class(dataset, held_out=0.15, seed=0)
    assert held.counts() == {"a": 15, "b": 3, "c": 1, "d": 0}
    assert train.counts() == {"a": 85, "b": 17, "c": 1, "d": 1}
    assert sorted(train.names + held.names) == sorted(dataset.names)
    assert train.classes == held.classes == dataset.classes


def test_the_split_is_deterministic_for_a_seed_and_differs_between_seeds():
    dataset = numbered({"a": 40, "b": 40})
    first, second = split_per_class(dataset, seed=3)[1], split_per_class(dataset, seed=3)[1]
    assert first.names == second.names
    assert first.names != split_per_class(dataset, seed=4)[1].names
    assert first.names == sorted(first.names, key=dataset.names.index)  # order kept within a part


@pytest.mark.parametrize("share", [-0.1, 1.0])
def test_a_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(DatasetError, match="The share held out must be"):
        split_per_class(numbered({"a": 2, "b": 2}), held_out=share)


def test_a_zip_of_images_without_class_folders_says_how_to_arrange_them():
    assert refused(make_zip([("1.png", RED), ("2.png", RED)])) == (
        "The zip holds its 2 files at the top level, not in class folders; put each class's images in a folder "
        "named after the class (cats/1.jpg, dogs/7.png).")
