"""Architecture page: totals equal analyze(), charts and diagram present, options and URL, errors, downloads."""

from __future__ import annotations

import json

import pytest

from explorer import formats
from explorer.analysis import analyze
from explorer.zoo import classics

from app_helpers import open_tab as open_page_tab, shown_errors

PAGE = "app_pages/architecture.py"
CLASSICS = [name for name in classics() if name != "lenet5_1998"]  # its own tests below


def open_tab(at, label: str):
    return open_page_tab(at, "architecture.tab", label)


def caption_texts(at) -> list[str]:
    return [c.value for c in at.caption]


@pytest.mark.parametrize("name", CLASSICS)
def test_every_classic_shows_its_exact_totals_a_table_charts_and_a_diagram(open_page, name):
    at = open_page(PAGE, arch=name)
    assert not at.exception and not at.error
    report = analyze(name)
    texts = caption_texts(at)
    assert f"{report.total_params:,} · trainable {report.trainable_params:,} · frozen 0" in texts
    assert f"{report.total_macs:,} MACs" in texts and f"{report.total_flops:,} FLOPs" in texts
    frame = at.dataframe[0].value
    assert frame["params"].iloc[0] == report.total_params and frame["macs"].iloc[0] == report.total_macs
    assert not at.get("plotly_chart") and not at.get("graphviz_chart")  # only the open tab is drawn
    open_tab(at, "Charts")
    assert len(at.get("plotly_chart")) == 1 and not at.dataframe  # one chart at a time
    assert [len(open_page_tab(at, "architecture.chart", label).get("plotly_chart"))
            for label in ("By block", "Activation memory", "Shape by depth")] == [2, 1, 1]
    dot = open_tab(at, "Diagram").get("graphviz_chart")[0].proto.spec
    assert dot.startswith("digraph") and '"input"' in dot and '"output"' in dot


def test_resnet_diagram_draws_the_skip_and_googlenet_the_concatenation(open_page):
    dot = open_tab(open_page(PAGE, arch="resnet50"), "Diagram").get("graphviz_chart")[0].proto.spec
    assert '"maxpool" -> "layer1.0.downsample"' in dot and 'label="+"' in dot and "x5" in dot
    dot = open_tab(open_page(PAGE, arch="googlenet"), "Diagram").get("graphviz_chart")[0].proto.spec
    assert 'label="concat"' in dot and dot.count('-> "cat_') == 4


def test_changing_an_option_changes_the_totals_and_the_url(open_page):
    at = open_page(PAGE, arch="lenet5")
    at.number_input(key="widget:network.option.lenet5.num_classes").set_value(5).run()
    assert not at.exception
    expected = analyze("lenet5", num_classes=5)
    assert f"{expected.total_params:,} · trainable {expected.total_params:,} · frozen 0" in caption_texts(at)
    assert at.query_params["num_classes"] == ["5"] or at.query_params["num_classes"] == "5"
    at.selectbox(key="widget:network.option.lenet5.activation").set_value("relu").run()
    assert not at.exception and "activation" in at.query_params


def test_picking_another_architecture_updates_page_and_url(open_page):
    at = open_page(PAGE, arch="lenet5")
    at.selectbox(key="widget:network.arch").set_value("mobilenet_v1").run()
    assert not at.exception and at.subheader[0].value == "MobileNet v1"
    assert at.query_params["arch"] in ("mobilenet_v1", ["mobilenet_v1"])


def test_url_options_and_input_size_reproduce_the_view(open_page):
    at = open_page(PAGE, arch="mobilenet_v1", width_mult="0.5", input="160x160")
    assert not at.exception and not at.error
    report = analyze("mobilenet_v1", (3, 160, 160), width_mult=0.5)
    assert f"{report.total_macs:,} MACs" in caption_texts(at)


@pytest.mark.parametrize("query, message", [
    ({"arch": "mobilenet_v1", "width_mult": "9"}, "must be float in [0.1, 2.0]"),
    ({"arch": "nonexistent"}, "The link's arch 'nonexistent' names no architecture here"),
    ({"arch": "lenet5", "input": "8x8"}, "features.3 (Conv2d) would produce an empty output"),
    ({"arch": "residual_block", "shortcut": "identity", "stride": "2"}, "identity shortcut"),
    ({"arch": "vit_b_16", "image_size": "100"}, "cannot be built"),
    ({"arch": "lenet5", "input": "abc"}, "HxW"),
])
def test_bad_values_give_one_sentence_and_the_page_stays_usable(open_page, query, message):
    at = open_page(PAGE, **query)
    assert not at.exception
    assert any(message in e for e in shown_errors(at)), shown_errors(at)
    at.selectbox(key="widget:network.arch").set_value("resnet18").run()  # still usable
    assert not at.exception and at.subheader[0].value == "ResNet-18"


def test_download_buttons_carry_the_right_data(open_page, downloads):
    at = open_page(PAGE, arch="lenet5")
    assert not at.exception
    report = analyze("lenet5")
    assert downloads["lenet5-layers.csv"].decode() == formats.to_csv(report)
    assert json.loads(downloads["lenet5-layers.json"])["total_macs"] == 416_520
    assert downloads["lenet5-layers.md"].decode() == formats.to_markdown(report)
    assert downloads["lenet5-layers.tex"].decode() == formats.to_latex(report)
    assert [b.label for b in at.download_button] == ["CSV", "JSON", "Markdown", "LaTeX"]
    open_tab(at, "Diagram")
    assert downloads["lenet5.dot"].decode() == at.get("graphviz_chart")[0].proto.spec
    assert [b.label for b in at.download_button] == ["Diagram as DOT"]


def test_depth_slider_collapses_the_table(open_page):
    at = open_page(PAGE, arch="resnet50")
    full = analyze("resnet50")
    at.slider(key="widget:architecture.depth.resnet50").set_value(1).run()
    assert len(at.dataframe[0].value) == sum(1 for r in full.layers if r.depth <= 1)
    at.slider(key="widget:architecture.depth.resnet50").set_value(full.max_depth).run()
    assert len(at.dataframe[0].value) == len(full.layers)


def test_explanation_names_the_seed_errata_and_source_shows_the_code(open_page):
    at = open_tab(open_page(PAGE, arch="vgg16"), "Explanation")
    assert any("4096-4096-1000" in w.value for w in at.warning)
    at = open_tab(open_page(PAGE, arch="resnet50"), "Source")
    assert any("class Bottleneck" in c.value for c in at.code)


def test_the_device_picker_sits_only_on_pages_that_run_something(open_page):
    # Architecture analyses on the meta device: a device picker there would change nothing
    assert not [box for box in open_page(PAGE, arch="lenet5").sidebar.selectbox if box.label == "Compute device"]
    for page in ("app_pages/feature_maps.py", "app_pages/cost_lab.py", "app_pages/augmentation.py",
                 "app_pages/compare.py", "app_pages/transfer.py"):
        at = open_page(page)
        picker = at.sidebar.selectbox(key="widget:device")
        assert picker.label == "Compute device" and "cpu" in picker.options[0].lower() and picker.value == "cpu"


def test_lenet5_1998_shows_trainable_and_frozen_connections_and_its_table(open_page):
    at = open_page(PAGE, arch="lenet5_1998")
    assert not at.exception and not at.error
    assert "60,840 · trainable 60,000 · frozen 840" in caption_texts(at)
    frame = at.dataframe[0].value
    rows = {name: row for name, row in zip(frame["name"], frame.itertuples())}
    assert (rows["c1"].params, rows["c1"].connections) == (156, 122_304)
    assert (rows["output"].trainable_params, rows["output"].frozen_params) == (0, 840)
    open_tab(at, "Explanation")
    explanation = "\n".join(m.value for m in at.markdown)
    assert "| S2 \\ C3 | 0 | 1 |" in explanation and "break" in explanation and "2,416" in explanation


def test_rows_whose_weights_a_parent_uses_are_marked_and_explained(open_page):
    at = open_page(PAGE, arch="vit_b_16")
    at.slider(key="widget:architecture.depth.vit_b_16").set_value(5).run()
    assert not at.exception
    frame = at.dataframe[0].value
    out_proj = frame[frame["name"] == "encoder.layers.encoder_layer_0.self_attention.out_proj"].iloc[0]
    assert out_proj["note"] == "weights used by the parent" and out_proj["params"] == 590_592
    assert any(text.startswith('Rows marked "weights used by the parent"') for text in caption_texts(at))


def test_the_explanation_describes_the_chosen_entry_not_only_its_family(open_page):
    at = open_page(PAGE, arch="lenet5_1998")
    explanation = "\n".join(m.value for m in at.markdown)
    assert "exactly as the 1998 paper's network did" in explanation


def test_each_tabs_settings_survive_another_tab_being_open_and_are_what_it_computes_with(open_page):
    """Lazy tabs: a tab's widgets are not drawn while another tab is open; coming back shows and uses their values."""
    at = open_page(PAGE, arch="resnet50")
    full = analyze("resnet50")
    at.slider(key="widget:architecture.depth.resnet50").set_value(1).run()
    open_tab(at, "Charts")
    assert not at.slider  # the depth slider is not drawn
    assert '"type":"log"' in at.get("plotly_chart")[0].proto.spec  # the default: logarithmic
    at.toggle(key="widget:architecture.log_scale").set_value(False).run()
    open_tab(at, "Diagram")
    at.number_input(key="widget:architecture.diagram_depth.resnet50").set_value(1).run()
    dot = at.get("graphviz_chart")[0].proto.spec
    open_tab(at, "Layers")
    assert at.slider(key="widget:architecture.depth.resnet50").value == 1
    assert len(at.dataframe[0].value) == sum(1 for r in full.layers if r.depth <= 1)
    open_tab(at, "Charts")
    assert at.toggle(key="widget:architecture.log_scale").value is False
    assert at.get("plotly_chart")[0].proto.spec and '"type":"log"' not in at.get("plotly_chart")[0].proto.spec
    open_tab(at, "Diagram")
    assert at.number_input(key="widget:architecture.diagram_depth.resnet50").value == 1
    assert at.get("graphviz_chart")[0].proto.spec == dot
