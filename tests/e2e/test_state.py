"""What you see is what runs: each test changes widgets, hides them (early stops, other modes, other
pages), and checks in the real browser that the page shows and computes with the same values."""

from __future__ import annotations

import re
from pathlib import Path

import torch
import torchvision

from e2e_helpers import assert_no_exception, wait_for_condition, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]
PHOTO = ROOT / "assets" / "images" / "coffee_cup.png"


def main(page):
    return page.locator("[data-testid=stMain]")


def go_to(page, title: str) -> None:
    """Follow the sidebar's link to a page, as a person would."""
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=title).click()
    wait_until_idle(page)


def number_input(page, label: str):
    return main(page).locator("[data-testid=stNumberInput]").filter(has_text=label).locator("input").first


def selectbox_value(page, label: str) -> str:
    box = main(page).locator("[data-testid=stSelectbox]").filter(has_text=label).first
    return box.locator("input").first.input_value() or box.inner_text()


def radio_value(page, label: str) -> str:
    group = main(page).locator("[data-testid=stRadio]").filter(has=page.get_by_text(label, exact=True)).first
    return group.locator("label").filter(has=page.locator("input:checked")).inner_text().strip()


def upload(page, label: str, path: Path) -> None:
    main(page).locator("[data-testid=stFileUploader]").filter(has_text=label).locator("input[type=file]") \
        .set_input_files(str(path))
    wait_until_idle(page)


def set_number(page, label: str, value: int) -> None:
    field = number_input(page, label)
    field.fill(str(value))
    field.press("Enter")
    wait_until_idle(page)


def code_text(page) -> str:
    return main(page).locator("[data-testid=stCode]").last.inner_text()


def test_architecture_and_feature_maps_keep_lenet5s_options(page, app_url):
    page.goto(app_url)
    page.get_by_text("1998 · LeNet-5 (course notes)").wait_for(timeout=120_000)
    go_to(page, "Architecture")
    page.get_by_text("61,706 · trainable").wait_for(timeout=60_000)
    go_to(page, "Feature maps")
    page.get_by_text("held-out accuracy").first.wait_for(timeout=120_000)
    assert "num_classes" not in page.url and number_input(page, "num classes").input_value() == "10"
    go_to(page, "Architecture")
    page.get_by_text("61,706 · trainable").wait_for(timeout=60_000)
    assert_no_exception(page)


def test_feature_maps_capture_point_survives_an_upload(page, app_url):
    page.goto(f"{app_url}/feature_maps?arch=resnet18")
    page.get_by_text("Random weights").first.wait_for(timeout=120_000)
    wait_until_idle(page)
    box = main(page).locator("[data-testid=stSelectbox]").filter(has_text="Layer or branch point").first
    box.locator("input").click()
    page.keyboard.type("layer2.0 — residual + shortcut")
    page.locator("[role=option]").first.wait_for(timeout=30_000)
    page.keyboard.press("Enter")  # the first match; clicking can miss an option scrolled out of view
    wait_until_idle(page)
    wait_for_condition(lambda: "residual + shortcut" in selectbox_value(page, "Layer or branch point"), 30)
    main(page).get_by_text("Upload", exact=True).click()
    wait_until_idle(page)
    upload(page, "PNG, JPEG", PHOTO)
    page.get_by_text("coffee_cup.png:").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert "layer2.0 — residual + shortcut" in selectbox_value(page, "Layer or branch point")
    caption = main(page).get_by_text(re.compile(r"Output of layer2\.0 — residual \+ shortcut"))
    caption.first.wait_for(timeout=60_000)  # the capture runs after the image is drawn: under load, later
    assert caption.count() == 1
    assert_no_exception(page)


def test_feature_maps_image_stays_the_uploaded_one_after_a_weights_upload_and_other_networks(page, app_url, tmp_path):
    weights = tmp_path / "mobilenet_v2.pt"
    torch.save(torchvision.models.mobilenet_v2().state_dict(), weights)
    page.goto(f"{app_url}/feature_maps?arch=mobilenet_v2")
    page.get_by_text("Random weights").first.wait_for(timeout=120_000)
    main(page).get_by_text("Upload", exact=True).click()
    wait_until_idle(page)
    upload(page, "PNG, JPEG", PHOTO)
    page.get_by_text("coffee_cup.png:").first.wait_for(timeout=60_000)
    main(page).get_by_text("Upload a state_dict").click()
    wait_until_idle(page)
    upload(page, "A state_dict", weights)
    page.get_by_text("mobilenet_v2.pt").first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert radio_value(page, "Image") == "Upload" and main(page).get_by_text("coffee_cup.png:").count() >= 1
    page.goto(f"{app_url}/feature_maps?arch=resnet18")
    page.get_by_text("Random weights").first.wait_for(timeout=120_000)
    main(page).get_by_text("Sample", exact=True).click()
    wait_until_idle(page)
    page.get_by_text("cat:").first.wait_for(timeout=60_000)
    assert "cat" in selectbox_value(page, "Sample image")
    assert_no_exception(page)


def test_augmentation_pipeline_survives_an_upload_and_a_reshuffle(page, app_url):
    page.goto(f"{app_url}/augmentation")
    page.get_by_text("The pipeline as code").wait_for(timeout=120_000)
    wait_until_idle(page)
    set_number(page, "size", 128)
    wait_for_condition(lambda: "RandomResizedCrop(128" in code_text(page) or "size=128" in code_text(page), 30)
    main(page).get_by_text("Upload", exact=True).first.click()
    wait_until_idle(page)
    upload(page, "PNG, JPEG", PHOTO)
    page.get_by_text("The pipeline as code").wait_for(timeout=60_000)
    assert number_input(page, "size").input_value() == "128"
    main(page).get_by_role("button", name="Reshuffle").click()
    wait_until_idle(page)
    code = code_text(page)
    assert ("RandomResizedCrop(128" in code or "size=128" in code) and "p=0.0" not in code
    assert number_input(page, "Seed").input_value() == "1" and number_input(page, "size").input_value() == "128"
    assert_no_exception(page)


def test_choices_follow_the_person_across_pages(page, app_url):
    page.goto(f"{app_url}/architecture?arch=mobilenet_v1&width_mult=0.5&input=160x160")
    page.get_by_role("heading", name="MobileNet v1").wait_for(timeout=120_000)
    wait_until_idle(page)
    go_to(page, "Home")
    go_to(page, "Architecture")
    page.get_by_role("heading", name="MobileNet v1").wait_for(timeout=60_000)
    page.get_by_text("input 3x160x160, batch 1").wait_for(timeout=30_000)
    assert "width_mult=0.5" in page.url and "input=160x160" in page.url
    go_to(page, "Feature maps")
    page.get_by_text("Random weights").first.wait_for(timeout=120_000)
    assert "mobilenet_v1" in selectbox_value(page, "Architecture")
    go_to(page, "Cost lab")
    set_number(page, "bottleneck", 32)
    go_to(page, "Home")
    go_to(page, "Cost lab")
    page.get_by_text("Inception 1x1 bottleneck").first.wait_for(timeout=60_000)
    assert number_input(page, "bottleneck").input_value() == "32"
    assert_no_exception(page)


def test_every_ignored_link_value_gets_a_note(page, app_url):
    page.goto(f"{app_url}/architecture?input=99999x99999")
    page.get_by_text("The link's input was ignored").wait_for(timeout=120_000)
    page.goto(f"{app_url}/architecture?arch=lenet5&width_mult=abc")
    page.get_by_text("The link's width_mult was ignored").wait_for(timeout=120_000)
    page.goto(f"{app_url}/architecture?arch=[Log in](https://example.invalid)")
    page.get_by_text("names no architecture here").wait_for(timeout=120_000)
    assert main(page).locator("[data-testid=stAlert] a").count() == 0  # shown as text, not as a link
    assert_no_exception(page)


def test_agreement_names_the_current_network_after_an_upload(page, app_url):
    page.goto(f"{app_url}/architecture?arch=resnet18")
    page.get_by_role("heading", name="ResNet-18").wait_for(timeout=120_000)
    go_to(page, "Augmentation")
    page.get_by_text("The pipeline as code").wait_for(timeout=120_000)
    main(page).get_by_text("Upload", exact=True).first.click()
    wait_until_idle(page)
    upload(page, "PNG, JPEG", PHOTO)
    page.get_by_text("The pipeline as code").wait_for(timeout=60_000)
    main(page).get_by_text("Does the network still agree?").click()
    wait_until_idle(page)
    assert "resnet18" in selectbox_value(page, "Architecture")
    main(page).get_by_text("Classify the original and every sample with ResNet-18").click()
    wait_until_idle(page)
    page.get_by_text("original · ResNet-18 guesses").first.wait_for(timeout=120_000)
    assert_no_exception(page)



def test_a_slider_moved_faster_than_the_page_reruns_keeps_where_it_was_left(page, app_url):
    # Eight key presses in a row start eight reruns; the page used to write each widget's value back on every run,
    # so a run finishing mid-way pushed an older value into the slider and the later presses were lost.
    page.goto(f"{app_url}/augmentation")
    main(page).get_by_text("sample 8", exact=True).wait_for(timeout=120_000)
    wait_until_idle(page)
    slider = main(page).locator("[data-testid=stSlider]").filter(has_text="Samples")
    slider.locator("input[type=range]").focus()
    for _ in range(8):
        page.keyboard.press("ArrowRight")
    wait_for_condition(lambda: main(page).get_by_text("sample 16", exact=True).count() == 1, timeout=60)
    wait_until_idle(page)
    page.wait_for_timeout(1500)  # nothing comes back to undo it
    wait_until_idle(page)
    assert slider.inner_text().split()[:2] == ["Samples", "16"]  # the label, then the value over the thumb
    assert main(page).get_by_text("sample 16", exact=True).count() == 1
    assert main(page).get_by_text("sample 17", exact=True).count() == 0
    assert_no_exception(page)
