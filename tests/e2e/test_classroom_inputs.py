"""Issue 11's inputs in a real browser: each is one sentence on the page, never "This app has encountered an
error", and the page stays usable; the server's memory stays bounded throughout."""

from __future__ import annotations

import json
import re
import time

from e2e_helpers import assert_no_exception, wait_until_idle


def main(page):
    return page.locator("[data-testid=stMain]")


def alerts(page) -> list[str]:
    return main(page).locator("[data-testid=stAlert]").all_inner_texts()


def test_links_to_networks_beyond_the_budget_are_refused_at_once(page, app_url):
    for query, name in (("arch=regnet_y_128gf&num_classes=100000", "regnet_y_128gf"), ("arch=vit_h_14", "vit_h_14")):
        start = time.perf_counter()
        page.goto(f"{app_url}/feature_maps?{query}")
        page.get_by_text(re.compile("more than this server's budget")).first.wait_for(timeout=60_000)
        wait_until_idle(page)
        assert time.perf_counter() - start < 30
        assert_no_exception(page)
        assert "This app has encountered an error" not in page.content()
        refusal = [text for text in alerts(page) if "budget" in text]
        assert len(refusal) == 1 and refusal[0].startswith(f"{name} on one sample would need about"), refusal
    # the page stays usable: pick a small network from the same picker's link
    page.goto(f"{app_url}/feature_maps?arch=resnet18")
    page.get_by_text(re.compile(r"Forward pass on cpu")).first.wait_for(timeout=120_000)
    assert_no_exception(page)


def test_cost_lab_timing_beyond_the_budget_is_a_sentence(page, app_url):
    page.goto(f"{app_url}/cost_lab")
    page.get_by_role("tab", name=re.compile("separable", re.I)).first.click()
    panel = main(page).locator("[role=tabpanel]:visible")
    for label, value in (("height", "2048"), ("width", "2048"), ("batch size", "64")):
        field = panel.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Enter")
        wait_until_idle(page)
    # said before anyone clicks, and the button cannot start it
    page.get_by_text(re.compile("would need about 16.04 GiB")).first.wait_for(timeout=30_000)
    wait_until_idle(page)
    assert panel.get_by_role("button", name=re.compile("Time both variants")).is_disabled()
    assert_no_exception(page)
    text = page.content()
    assert "enforce fail" not in text and "This app has encountered an error" not in text


def test_a_malformed_pipeline_keeps_the_last_good_one(page, app_url, tmp_path):
    bad = tmp_path / "pipeline.json"
    bad.write_text(json.dumps({"pipeline": [{"op": ["hflip"]}]}))
    page.goto(f"{app_url}/augmentation")
    page.get_by_text("sample 1", exact=False).first.wait_for(timeout=120_000)
    wait_until_idle(page)
    uploader = main(page).locator("[data-testid=stFileUploader]").filter(has_text="pipeline saved as JSON")
    uploader.locator("input[type=file]").set_input_files(str(bad))
    page.get_by_text(re.compile("The pipeline was not changed")).first.wait_for(timeout=60_000)
    wait_until_idle(page)
    assert_no_exception(page)
    assert main(page).get_by_text("sample 1", exact=False).count() > 0  # the grid of the last good pipeline
