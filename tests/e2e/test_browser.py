"""In a real browser: Home, a gallery link, a direct link to the Architecture page, and every tab."""

from __future__ import annotations

from pathlib import Path

from e2e_helpers import assert_no_exception, wait_for_condition, wait_until_idle

ROOT = Path(__file__).resolve().parents[2]


def test_home_gallery_link_opens_the_architecture_page(page, app_url):
    page.goto(app_url)
    page.get_by_text("1998 · LeNet-5 (course notes)").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)
    page.get_by_role("link", name="Open", exact=True).nth(5).click()  # ResNet-50 card
    page.wait_for_url("**/architecture?arch=resnet50**", timeout=60_000)
    page.get_by_role("heading", name="ResNet-50").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)
    page.get_by_text("25,557,032 · trainable 25,557,032 · frozen 0").wait_for(state="visible", timeout=30_000)


def test_direct_link_shows_table_chart_and_diagram(page, app_url):
    page.goto(f"{app_url}/architecture?arch=resnet50")
    page.get_by_role("heading", name="ResNet-50").wait_for(timeout=120_000)
    wait_until_idle(page)
    page.locator("[data-testid=stDataFrame]").first.wait_for(state="visible", timeout=60_000)
    page.locator("[data-testid=stMetricValue]").filter(has_text="25.56 M").wait_for(timeout=30_000)
    page.get_by_role("tab", name="Charts").click()
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)
    page.get_by_role("tab", name="Diagram").click()
    page.locator("[data-testid=stGraphVizChart] svg").first.wait_for(state="visible", timeout=60_000)
    # layer3's five identical bottlenecks drawn as one box, and the residual "+" of the expanded layer1.0
    page.locator("[data-testid=stGraphVizChart] svg text").filter(has_text="x5").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid=stGraphVizChart] svg text").filter(has_text="+").count() >= 1
    # a module called three times is labelled with each call's own output (relu's third call: 256 channels)
    relu = page.locator("[data-testid=stGraphVizChart] svg g.node").filter(has_text="relu (call 3)").first
    assert "256x56x56" in relu.text_content()
    page.get_by_role("tab", name="Explanation").click()
    page.get_by_text("Skip connections let very deep nets learn the identity").first.wait_for(timeout=30_000)
    assert_no_exception(page)


def test_lenet5_1998_shows_frozen_rbf_codes_and_the_connection_table(page, app_url):
    page.goto(f"{app_url}/architecture?arch=lenet5_1998")
    page.get_by_role("heading", name="LeNet-5 (1998 paper, exact)").wait_for(timeout=120_000)
    wait_until_idle(page)
    page.get_by_text("60,840 · trainable 60,000 · frozen 840").wait_for(state="visible", timeout=30_000)
    page.locator("[data-testid=stDataFrame]").first.wait_for(state="visible", timeout=60_000)
    page.get_by_role("tab", name="Explanation").click()
    table = page.locator("table").filter(has_text="S2 \\ C3")
    table.first.wait_for(state="visible", timeout=30_000)
    assert table.first.locator("tr").count() == 7 and "break" in page.inner_text("body")
    assert_no_exception(page)


def test_vit_rows_say_which_weights_the_parent_uses(page, app_url):
    page.goto(f"{app_url}/architecture?arch=vit_b_16")
    page.get_by_role("heading", name="vit_b_16").or_(page.get_by_role("heading", name="ViT-B/16")).first.wait_for(
        timeout=120_000)
    wait_until_idle(page)
    page.get_by_text('Rows marked "weights used by the parent"').wait_for(state="visible", timeout=30_000)
    page.get_by_text('Rows marked "own parameters"').wait_for(state="visible", timeout=30_000)
    assert_no_exception(page)


def test_typing_an_exact_name_in_the_picker_and_pressing_enter_opens_that_network(page, app_url):
    page.goto(f"{app_url}/architecture")
    page.get_by_role("heading", name="LeNet-5 (course notes)").wait_for(timeout=120_000)
    wait_until_idle(page)
    picker = page.locator("[data-testid=stMain] [data-testid=stSelectbox] input").first
    picker.click()
    page.keyboard.type("resnet50")
    page.locator("[role=option]").first.wait_for(timeout=30_000)
    assert page.locator("[role=option]").first.inner_text().startswith("resnet50 ·")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="ResNet-50").wait_for(timeout=60_000)
    assert "arch=resnet50" in page.url and "wide" not in page.url


def test_a_bad_link_shows_one_sentence_and_no_traceback(page, app_url):
    page.goto(f"{app_url}/architecture?arch=lenet5&input=8x8")
    page.get_by_text("would produce an empty output").wait_for(timeout=120_000)
    wait_until_idle(page)
    assert_no_exception(page)


def test_feature_maps_upload_shows_montage_and_predictions_then_a_bad_file_error(page, app_url, tmp_path):
    page.goto(f"{app_url}/feature_maps?arch=lenet5")
    page.get_by_text("Top predictions").wait_for(timeout=120_000)
    page.get_by_text("Upload", exact=True).click()
    page.locator("input[type=file]").first.set_input_files(str(ROOT / "assets" / "images" / "digit_3.png"))
    page.get_by_text("digit_3.png: 140x140").wait_for(timeout=60_000)
    page.get_by_text("Channels 0-5 of 6").wait_for(timeout=60_000)
    page.get_by_text("Top predictions").wait_for(timeout=60_000)
    wait_until_idle(page)
    assert_no_exception(page)
    bad = tmp_path / "notes.png"
    bad.write_text("these are notes, not pixels")
    page.locator("input[type=file]").first.set_input_files(str(bad))
    page.get_by_text("This file is not an image we can read").wait_for(timeout=60_000)
    assert_no_exception(page)


def test_cost_lab_shows_the_course_numbers(page, app_url):
    page.goto(f"{app_url}/cost_lab")
    page.locator("[data-testid=stMetricValue]").filter(has_text="120,422,400").first.wait_for(timeout=120_000)
    page.locator("[data-testid=stMetricValue]").filter(has_text="12,443,648").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="Depthwise separable").click()
    page.locator("[data-testid=stMetricValue]").filter(has_text="2,160").first.wait_for(timeout=30_000)
    page.locator("[data-testid=stMetricValue]").filter(has_text="672").first.wait_for(timeout=30_000)
    wait_until_idle(page)
    assert_no_exception(page)


def test_augmentation_builds_a_two_step_pipeline_and_shows_the_grid(page, app_url):
    page.goto(f"{app_url}/augmentation")
    page.get_by_text("sample 8").first.wait_for(timeout=120_000)
    wait_until_idle(page)
    # the default pipeline is mirror + random crop: remove the crop, add a second mirror (two steps)
    page.get_by_role("button", name="Remove").nth(1).click()
    page.get_by_text("2. Random crop, resized").wait_for(state="detached", timeout=60_000)
    wait_until_idle(page)
    page.get_by_role("button", name="Add to the pipeline").click()
    page.get_by_text("2. Mirror (horizontal flip)").wait_for(timeout=60_000)
    wait_until_idle(page)
    page.get_by_text("sample 8").first.wait_for(timeout=60_000)
    code = page.locator("[data-testid=stCode]").last
    wait_for_condition(lambda: code.inner_text().count("v2.RandomHorizontalFlip(p=1.0)") == 2
                       and "RandomResizedCrop" not in code.inner_text(), timeout=60)
    assert_no_exception(page)
