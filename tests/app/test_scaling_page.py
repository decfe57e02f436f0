"""Compound scaling page: the multipliers, the network built at phi (numbers equal analyze()), the URL, bad links,
networks past the caps, and the three views (curve, B0-B7, one dimension against all three)."""

from __future__ import annotations

import json

from explorer import scaling
from explorer.analysis import analyze

from app_helpers import shown_errors

PAGE = "app_pages/scaling.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def curve_spec(at) -> dict:
    """Return the plotly figure of the page's first chart (the curve) as the browser receives it."""
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_default_is_b0_exactly_with_the_curve_the_variants_and_the_single_dimension_table(open_page):
    at = open_page(PAGE)
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["alpha x beta² x gamma²"] == "1.920" and shown["Resolution"] == "224 px"
    b0 = analyze("efficientnet_b0")
    assert f"{b0.total_params:,}" in captions(at) and f"{b0.total_macs:,} MACs" in captions(at)
    assert len(at.get("plotly_chart")) == 2  # the curve, the single-dimension bars
    variants = at.dataframe[1].value
    assert list(variants["variant"]) == [f"B{k}" for k in range(8)]
    assert variants["resolution"].iloc[2] == "288 px" and variants["width"].iloc[2] == "1.1"
    # the dense curve still holds every integer phi: the "phi = k" columns are filled, with analyze()'s numbers
    assert variants["phi = k: params"].iloc[2] == f"{analyze('efficientnet', phi=2.0).total_params:,}"
    assert variants["phi = k: resolution"].iloc[7] == f"{scaling.multipliers(7.0).resolution} px"
    # the curve: every 0.01 of phi from -1 to 7, lines only; B0-B7 diamonds; depth steps dotted, the chosen phi red
    spec = curve_spec(at)
    curves = [trace for trace in spec["data"] if trace["name"].startswith("phi curve")]
    assert [trace["mode"] for trace in curves] == ["lines", "lines"]
    assert all(len(trace["x"]) == 801 and trace["x"][0] == -1.0 and trace["x"][-1] == 7.0 for trace in curves)
    assert curves[0]["y"][100] == b0.total_macs and curves[0]["y"][101] / b0.total_macs > 1.4  # phi 0, then 0.01
    assert "phi 0.01<br>" in curves[0]["hovertext"][101] and "layers per stage 2, 3, 3, 4, 4, 5, 2" in \
        curves[0]["hovertext"][101]
    diamonds = [trace for trace in spec["data"] if trace["name"].startswith("torchvision B0-B7")]
    assert [trace["text"] for trace in diamonds] == [[f"B{k}" for k in range(8)]] * 2
    shapes = spec["layout"]["shapes"]
    assert len([s for s in shapes if s["line"].get("dash") == "dot"]) == len(scaling.depth_steps(scaling.ALPHA))
    assert [s["x0"] for s in shapes if s["line"].get("color") == "#d62728"] == [0.0]
    single = at.dataframe[2].value
    assert list(single["scaling"]) == ["compound", "depth only", "width only", "resolution only"]


def test_phi_slider_builds_the_network_it_shows_and_writes_the_url(open_page):
    at = open_page(PAGE)
    at.slider(key="widget:scaling.phi").set_value(2.0).run()
    assert not at.exception and not at.error
    expected = analyze("efficientnet", phi=2.0)
    assert f"{expected.total_macs:,} MACs" in captions(at) and f"{expected.total_params:,}" in captions(at)
    assert metrics(at)["Resolution"] == "296 px" and metrics(at)["Depth multiplier"] == "x1.440"
    assert dict(at.query_params) in ({"phi": "2"}, {"phi": ["2"]})
    link = [p for p in at.get("page_link") if "Open this network" in p.proto.label][0]
    assert "phi=2.0" in link.proto.page or "phi" in link.proto.query_string
    # the compound network at phi=2 is Table 7's (d=1.4, w=1.2, r=1.3 at one decimal): cited, never computed
    single = at.dataframe[2].value
    assert single["paper's top-1"].iloc[0].startswith("81.1 % top-1")
    assert set(single["paper's top-1"].iloc[1:]) == {"not reported"}


def test_a_link_sets_the_sliders_and_bad_values_are_named_and_ignored(open_page):
    at = open_page(PAGE, phi="3", alpha="1.3", gamma="banana", beta="9")
    assert not at.exception
    assert at.slider(key="widget:scaling.phi").value == 3.0 and at.slider(key="widget:scaling.alpha").value == 1.3
    errors = shown_errors(at)
    assert len(errors) == 2 and any("gamma" in e and "'banana'" in e for e in errors)
    assert any("beta must be a number from 1 to 2" in e for e in errors)
    expected = scaling.multipliers(3.0, 1.3, scaling.BETA, scaling.GAMMA)
    assert metrics(at)["Depth multiplier"] == f"x{expected.depth:.3f}"


def test_a_network_past_the_caps_is_one_sentence_and_the_rest_of_the_page_works(open_page):
    at = open_page(PAGE, phi="7", alpha="2", beta="2")
    assert not at.exception
    errors = shown_errors(at)
    assert len(errors) == 1 and "at most 16" in errors[0]
    assert len(at.get("plotly_chart")) >= 1  # the curve, stopped at the cap
    assert any("The curve stops at phi = 4" in text for text in captions(at))
    curve = curve_spec(at)["data"][0]
    assert len(curve["x"]) == 501 and curve["x"][-1] == 4.0  # -1..4 every 0.01: 16x deeper and wider at phi = 4
    at.slider(key="widget:scaling.phi").set_value(1.0).run()
    assert not at.exception and not at.error
