"""The app reads well from 800 px wide up: no metric, label, button, link or formula is cut off."""

from __future__ import annotations

import pytest

from e2e_helpers import assert_no_exception, wait_until_idle

# Text elements that Streamlit would cut with an ellipsis or a hidden overflow.
CUT_TEXT = """() => {
  const cut = [];
  const selectors = ['[data-testid=stMetricValue] div', '[data-testid=stMetricLabel] div',
                     '[data-testid=stMarkdownContainer]', 'button p', '[data-testid=stPageLink] span'];
  for (const selector of selectors) {
    document.querySelectorAll(selector).forEach(element => {
      if (element.offsetParent !== null && element.scrollWidth > element.clientWidth + 1)
        cut.push(`${selector}: ${element.innerText.slice(0, 40)} (${element.scrollWidth} > ${element.clientWidth})`);
    });
  }
  const main = document.querySelector('[data-testid=stMainBlockContainer]').getBoundingClientRect();
  document.querySelectorAll('.katex-display .katex').forEach(formula => {
    const box = formula.getBoundingClientRect();
    if (box.width && box.right > main.right + 1) cut.push(`formula ends at ${box.right} > ${main.right}`);
  });
  return cut;
}"""

PAGES = [("", "1998 · LeNet-5"), ("/architecture?arch=resnet50", "25,557,032 · trainable"),
         ("/cost_lab", "120,422,400"), ("/feature_maps?arch=resnet18", "Random weights"),
         ("/augmentation", "The pipeline as code"), ("/compare", "Put networks side by side"),
         ("/scaling?phi=2", "alpha x beta² x gamma²"), ("/transfer?arch=resnet18", "Head replaced")]


@pytest.mark.parametrize("width", [800, 1400])
def test_nothing_is_cut_off(browser, app_url, width):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        for path, marker in PAGES:
            page.goto(f"{app_url}{path}")
            page.get_by_text(marker).first.wait_for(timeout=120_000)
            wait_until_idle(page)
            page.wait_for_timeout(500)  # fonts and KaTeX settle
            assert page.evaluate(CUT_TEXT) == [], path
            assert_no_exception(page)
        page.goto(f"{app_url}/cost_lab")
        page.get_by_text("120,422,400").first.wait_for(timeout=120_000)
        for tab in ("Depthwise separable", "1x1 convolution", "MobileNet v2 bottleneck", "Residual shortcut"):
            page.get_by_role("tab", name=tab).click()  # a lazy tab: its panel is drawn by the rerun
            page.locator("[role=tabpanel]:visible [data-testid=stMetricValue]").first.wait_for(timeout=60_000)
            wait_until_idle(page)
            page.wait_for_timeout(500)
            assert page.evaluate(CUT_TEXT) == [], tab
    finally:
        context.close()
