"""In a real browser: the Transfer learning page plans resnet18's fine-tuning, runs the digits demo to the end, and
fine-tunes on your own images (a zip or classes uploaded one by one) with results, a download and a stop."""

from __future__ import annotations

import re

from e2e_helpers import assert_no_exception, wait_until_idle

from explorer.transfer.planner import plan


def test_plan_then_the_digits_demo_runs_to_the_end(page, app_url):
    page.goto(f"{app_url}/transfer?arch=resnet18")
    page.get_by_text("Head replaced:").wait_for(timeout=120_000)
    wait_until_idle(page)
    expected = plan("resnet18", {}, 10, "head")
    page.get_by_text(f"{expected.trainable_params:,} of {expected.total_params:,}").first.wait_for(timeout=30_000)
    assert_no_exception(page)
    page.get_by_role("tab", name="Digits demo (offline)").click()
    button = page.get_by_role("button", name="Run the demo")
    button.wait_for(timeout=60_000)
    wait_until_idle(page)
    button.click()
    verdict = page.locator("[data-testid=stAlert]").filter(has_text="held out")
    verdict.first.wait_for(timeout=120_000)
    wait_until_idle(page)
    text = verdict.first.inner_text()
    assert "frozen" in text and "scratch" in text, text
    assert page.locator(".js-plotly-plot").count() >= 1
    assert_no_exception(page)
    page.screenshot(path="test-artifacts/transfer_demo.png", full_page=True)


# ---------------------------------------------------------------------------------------------
# Your images: a real training run in the browser


def main(page):
    return page.locator("[data-testid=stMain]")


def open_your_images(page, app_url, arch: str) -> None:
    page.goto(f"{app_url}/transfer?arch={arch}")
    tab = page.get_by_role("tab", name="Your images")
    tab.wait_for(timeout=120_000)
    wait_until_idle(page)
    tab.click()
    main(page).get_by_text("A zip of class folders, up to 200 MB").wait_for(timeout=60_000)
    wait_until_idle(page)


def write_digits(tmp_path, per_class: int, digits=(3, 7)):
    from helpers import digit_images, zip_of

    images = digit_images(digits, per_class)
    archive = tmp_path / "digits.zip"
    archive.write_bytes(zip_of(images, top="digits/"))
    folders = {}
    for name, files in images.items():
        folders[name] = []
        for file_name, data in files:
            path = tmp_path / name / file_name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            folders[name].append(str(path))
    return archive, folders


def open_with_zip(page, app_url, tmp_path, arch: str, per_class: int) -> None:
    """Open Your images for ``arch`` and upload a zip of ``per_class`` handwritten threes and sevens."""
    archive, _ = write_digits(tmp_path, per_class)
    open_your_images(page, app_url, arch)
    main(page).locator("[data-testid=stFileUploader]").locator("input[type=file]").set_input_files(str(archive))
    main(page).get_by_text(f"{2 * per_class} images in 2 classes").wait_for(timeout=60_000)
    wait_until_idle(page)


def train_and_wait(page, timeout_s: float = 240) -> None:
    wait_until_idle(page)
    button = main(page).get_by_role("button", name="Train")
    button.wait_for(timeout=90_000)  # drawn once the run is planned on the meta device
    button.click()
    page.get_by_role("heading", name="The fine-tuned model").wait_for(timeout=timeout_s * 1000)
    wait_until_idle(page)
    assert_no_exception(page)


def test_a_zip_trains_then_classifies_shows_maps_and_downloads_weights_that_load(page, app_url, tmp_path):
    from safetensors.torch import load

    from explorer.analysis import analyze
    from explorer.transfer.planner import find_head, replace_head
    from explorer.zoo import build

    open_with_zip(page, app_url, tmp_path, "lenet5", 12)
    train_and_wait(page)
    metric = main(page).locator("[data-testid=stMetric]").filter(has_text="Held-out accuracy")
    assert re.search(r"\d+\.\d%", metric.inner_text())
    assert main(page).locator(".js-plotly-plot").count() >= 2  # the curves and the confusion matrix

    page.get_by_role("tab", name="Classify an image").click()
    main(page).get_by_text("Top predictions").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.get_by_role("tab", name="Feature maps").click()
    main(page).get_by_text(re.compile(r"Channels 0-5 of 6")).wait_for(timeout=60_000)
    wait_until_idle(page)
    assert_no_exception(page)

    page.get_by_role("tab", name="Download").click()
    button = main(page).get_by_role("button", name="Download the fine-tuned weights (safetensors)")
    button.wait_for(timeout=60_000)
    wait_until_idle(page)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    assert download.value.suggested_filename == "lenet5_finetuned.safetensors"
    state = load(open(download.value.path(), "rb").read())
    model = build("lenet5")
    replace_head(model, find_head(analyze("lenet5")), 2)
    model.load_state_dict(state)  # strict: every key and shape of the 2-class network
    assert_no_exception(page)


def test_classes_uploaded_one_by_one_train(page, app_url, tmp_path):
    _, folders = write_digits(tmp_path, 6)
    open_your_images(page, app_url, "lenet5")
    main(page).get_by_test_id("stRadioGroup").get_by_text("Images class by class").click()
    cards = main(page).locator("[data-testid=stFileUploader]")
    cards.nth(1).wait_for(timeout=60_000)
    wait_until_idle(page)
    for index, (name, paths) in enumerate(folders.items()):
        field = main(page).get_by_label("Class name").nth(index)
        field.fill(name)
        field.press("Enter")
        wait_until_idle(page)
        cards.nth(index).locator("input[type=file]").set_input_files(paths)
        main(page).get_by_text("6 files", exact=True).nth(index).wait_for(timeout=60_000)
        wait_until_idle(page)
    main(page).get_by_text("12 images in 2 classes").wait_for(timeout=60_000)
    train_and_wait(page)
    assert main(page).get_by_text("Held-out accuracy").count() == 1


def test_stop_keeps_the_epochs_trained_so_far(page, app_url, tmp_path):
    open_with_zip(page, app_url, tmp_path, "resnet18", 15)
    epochs = main(page).get_by_label("Epochs")
    epochs.fill("40")
    epochs.press("Enter")
    main(page).get_by_text(re.compile("40 epochs on 26 images")).wait_for(timeout=60_000)  # 2 of each 15 held out
    wait_until_idle(page)
    button = main(page).get_by_role("button", name="Train")
    button.wait_for(timeout=90_000)
    button.click()
    main(page).get_by_text(re.compile(r"Epoch [3-9] of 40")).first.wait_for(timeout=120_000)
    main(page).get_by_role("button", name="Stop (keeps what was trained so far)").click()
    warning = main(page).get_by_text(re.compile(r"Stopped after \d+ of 40 epochs"))
    warning.wait_for(timeout=60_000)
    wait_until_idle(page)
    stopped = int(re.search(r"Stopped after (\d+) of", warning.inner_text()).group(1))
    assert 2 <= stopped < 40
    assert main(page).get_by_text("Held-out accuracy").count() == 1  # measured on the model as it was stopped
    assert_no_exception(page)
