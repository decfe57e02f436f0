"""Cost lab page: the course's numbers on the page, inputs change them, bad sizes are sentences, timing runs."""

from __future__ import annotations

from app_helpers import open_tab, shown_errors

PAGE = "app_pages/cost_lab.py"
SEPARABLE = "Depthwise separable"


def metric_values(at) -> list[str]:
    return [m.value for m in at.metric]


def test_the_course_numbers_are_on_the_page(open_page):
    at = open_page(PAGE)
    assert not at.exception and not at.error
    values = metric_values(at)
    assert "120,422,400" in values and "12,443,648" in values and "15,872" in values   # inception
    assert "2,160" not in values  # only the open tab is computed and drawn
    latex = " ".join(element.value for element in at.get("latex"))
    assert r"28 \times 28 \times 32 \times 5 \times 5 \times 192 = 120{,}422{,}400" in latex
    table = at.dataframe[0].value
    assert table.loc[table["stage"] == "1x1 bottleneck", "MACs"].item() == 2_408_448
    values = metric_values(open_tab(at, "cost.tab", SEPARABLE))
    assert "2,160" in values and "672" in values and "0.3111" in values and "120,422,400" not in values
    assert r"\frac{1}{5} + \frac{1}{3^2}" in " ".join(element.value for element in at.get("latex"))


def test_changing_a_size_recomputes(open_page):
    at = open_page(PAGE)
    at.number_input(key="widget:cost.inception.bottleneck").set_value(32).run()
    assert not at.exception
    assert f"{28 * 28 * 32 * 192 + 28 * 28 * 32 * 25 * 32:,}" in metric_values(at)


def test_a_kernel_larger_than_the_input_is_one_sentence(open_page):
    at = open_tab(open_page(PAGE), "cost.tab", SEPARABLE)
    at.number_input(key="widget:cost.separable.kernel").set_value(9).run()
    assert not at.exception
    assert any("a 9x9 kernel does not fit the 6x6 padded input" in e for e in shown_errors(at))


def test_timing_runs_on_the_cpu(open_page):
    at = open_tab(open_page(PAGE), "cost.tab", SEPARABLE)
    at.number_input(key="widget:cost.separable.batch").set_value(1).run()
    at.button(key="cost:separable:time").click().run()
    assert not at.exception and not at.error
    timing = [m.value for m in at.metric if "x vs" in m.value]
    assert timing and timing[0].endswith("x vs 3.21x")
    assert any(set(frame.value.columns) >= {"variant", "median ms"} for frame in at.dataframe)


def test_timing_beyond_the_budget_is_one_sentence_and_the_panel_stays_usable(open_page):
    """Issue 11: 2048x2048 at batch 64 tried to allocate 17 GB and showed the allocator's own message."""
    at = open_tab(open_page(PAGE), "cost.tab", SEPARABLE)
    assert any("Takes at least" in c.value for c in at.caption)
    at.number_input(key="widget:cost.separable.height").set_value(2048).run()
    at.number_input(key="widget:cost.separable.width").set_value(2048).run()
    at.number_input(key="widget:cost.separable.batch").set_value(64).run()
    assert not at.exception
    errors = shown_errors(at)  # said before anyone clicks, and the button cannot start it
    assert len(errors) == 1 and "would need about 16.04 GiB" in errors[0] and "enforce" not in errors[0], errors
    assert at.button(key="cost:separable:time").disabled
    sizes = {"batch": 1, "height": 256, "width": 256, "in_channels": 1024, "out_channels": 1024, "kernel": 9}
    for setting, value in sizes.items():  # now too long rather than too large (about 217 s predicted)
        at.number_input(key=f"widget:cost.separable.{setting}").set_value(value).run()
    assert any("more than this server's limit of 60 s" in e for e in shown_errors(at)), shown_errors(at)
    assert at.button(key="cost:separable:time").disabled
    for setting, value in {"height": 32, "width": 32, "in_channels": 3, "out_channels": 5, "kernel": 3}.items():
        at.number_input(key=f"widget:cost.separable.{setting}").set_value(value).run()
    at.button(key="cost:separable:time").click().run()
    assert not at.exception and not at.error and any("x vs" in m.value for m in at.metric)


def test_a_comparisons_sizes_survive_another_tab_being_open_and_are_what_it_computes_with(open_page):
    """Lazy tabs: the separable panel is not drawn while another is open; coming back shows and uses its sizes."""
    at = open_tab(open_page(PAGE), "cost.tab", SEPARABLE)
    at.number_input(key="widget:cost.separable.kernel").set_value(5).run()
    changed = metric_values(at)
    open_tab(at, "cost.tab", "Inception 1x1 bottleneck")
    assert not [w for w in at.number_input if w.key and "separable" in w.key]
    at.number_input(key="widget:cost.inception.bottleneck").set_value(32).run()
    open_tab(at, "cost.tab", SEPARABLE)
    assert at.number_input(key="widget:cost.separable.kernel").value == 5
    assert metric_values(at) == changed and "2,160" not in changed  # the 5x5 kernel's numbers, not the default's
    open_tab(at, "cost.tab", "Inception 1x1 bottleneck")
    assert f"{28 * 28 * 32 * 192 + 28 * 28 * 32 * 25 * 32:,}" in metric_values(at)
