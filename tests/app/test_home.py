"""Home: the gallery of classics in time order with exact counts, links, and the search box."""

from __future__ import annotations

from explorer.analysis import analyze
from explorer.units import human
from explorer.zoo import classics, get_spec

CLASSICS = classics()  # which entries are classics is checked once, in tests/test_registry.py


TOUR = 7  # the page links after the classics' cards


def test_home_shows_the_classics_in_time_order_with_links(open_page):
    at = open_page("app_pages/home.py")
    assert not at.exception
    links = at.get("page_link")[:len(CLASSICS)]
    linked = [link.proto.query_string.removeprefix("arch=") for link in links]
    assert linked == CLASSICS
    assert all("architecture" in link.proto.page for link in links)
    # then the other pages are introduced, each with a link
    tour = [link.proto.label for link in at.get("page_link")[len(CLASSICS):]]
    assert tour == ["Architecture", "Feature maps", "Augmentation", "Compare", "Compound scaling", "Transfer learning",
                    "Cost lab"]
    years = [get_spec(name).year for name in linked]
    assert years == sorted(years) and years[0] == 1998 and years[-1] == 2019


def test_gallery_counts_come_from_the_analysis(open_page):
    at = open_page("app_pages/home.py")
    text = " ".join(m.value for m in at.markdown)
    for name in ("lenet5", "resnet50", "efficientnet_b0"):
        report = analyze(name)
        assert f"{human(report.total_params)} params · {human(report.total_macs)} MACs" in text
    assert "Skip connections let very deep nets learn the identity" in text


def test_search_finds_any_registry_entry(open_page):
    at = open_page("app_pages/home.py")
    at.text_input[0].set_value("inverted residual").run()
    linked = [link.proto.query_string for link in at.get("page_link")]
    assert "arch=inverted_residual" in linked[len(CLASSICS) + TOUR:]
    at.text_input[0].set_value("swin").run()
    found = [link.proto.query_string for link in at.get("page_link")][len(CLASSICS) + TOUR:]
    assert found and all("swin" in q for q in found)
    at.text_input[0].set_value("ResNet 50").run()
    found = [link.proto.query_string for link in at.get("page_link")][len(CLASSICS) + TOUR:]
    assert found[0] == "arch=resnet50" and "arch=resnet101" not in found
