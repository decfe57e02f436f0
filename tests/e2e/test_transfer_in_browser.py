"""In a real browser: the Transfer learning page plans resnet18's fine-tuning and runs the digits demo to the end."""

from __future__ import annotations

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
