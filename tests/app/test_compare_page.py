"""Compare page: the classics by default, networks and options from the URL (as the CLI writes them), numbers equal
analyze(), pickers that edit, add and remove networks, bad links, the stage diff, and latency on the CPU."""

from __future__ import annotations

from explorer import compare
from explorer.analysis import analyze

from app_helpers import open_tab as open_page_tab, shown_errors

PAGE = "app_pages/compare.py"


def open_tab(at, label: str):
    return open_page_tab(at, "compare.tab", label)


def table(at):
    """Return the comparison table as {row label: {column: cell}}."""
    frame = at.dataframe[0].value
    return {label: {column: row[column] for column in frame.columns} for label, row in frame.iterrows()}


def test_default_is_the_eight_classics_with_analyze_numbers_and_the_url_lists_them(open_page):
    at = open_page(PAGE)
    assert not at.exception and not at.error
    names = compare.default_names()
    assert len(names) == 8 and at.query_params["arch"] == names
    cells = table(at)
    assert list(cells["Params"]) == names
    for name in names:
        report = analyze(name)
        assert cells["Params"][name] == f"{report.total_params:,}"
        assert cells["MACs"][name] == f"{report.total_macs:,}"
        assert cells["FLOPs (2 x MACs)"][name] == f"{report.total_flops:,}"
    assert cells["Depth (weighted layers)"]["resnet50"] == "50" and cells["Depth (weighted layers)"]["vgg16"] == "16"
    assert cells["ImageNet top-1 (DEFAULT weights)"]["lenet5"] == "—"
    assert not at.get("plotly_chart")  # the Table tab is open: no chart is computed or sent
    open_tab(at, "Charts")
    assert len(at.get("plotly_chart")) == 3  # bubble, accuracy, timeline
    open_tab(at, "Table")
    links = [link.proto.label for link in at.get("page_link")]
    assert set(names) <= set(links)


def test_a_link_with_options_and_an_input_is_the_cli_s_settings(open_page):
    at = open_page(PAGE, arch=["resnet18", "mobilenet_v1", "resnet18"],
                   set=["mobilenet_v1:width_mult=0.5", "3:input=160x160", "3:num_classes=10"])
    assert not at.exception and not at.error
    cells = table(at)
    columns = list(cells["MACs"])
    assert columns == ["resnet18", "mobilenet_v1 (width_mult=0.5)", "resnet18 (num_classes=10, 160x160)"]
    assert cells["MACs"][columns[1]] == f"{analyze('mobilenet_v1', width_mult=0.5).total_macs:,}"
    assert cells["MACs"][columns[2]] == f"{analyze('resnet18', (3, 160, 160), num_classes=10).total_macs:,}"
    # the URL the page writes back reproduces the same choice
    assert at.query_params["arch"] == ["resnet18", "mobilenet_v1", "resnet18"]
    assert set(at.query_params["set"]) == {"mobilenet_v1:width_mult=0.5", "3:num_classes=10", "3:input=160x160"}


def test_bad_links_name_each_value_once_and_keep_a_usable_page(open_page):
    at = open_page(PAGE, arch=["resnet18", "nosuch"], set=["resnet18:bogus=1", "9:width_mult=2"])
    assert not at.exception
    errors = shown_errors(at)
    assert any("'nosuch'" in e for e in errors) and any("bogus" in e for e in errors)
    assert any("network 9" in e for e in errors) and any("one network that can be used; Compare takes 2 to 8" in e
                                                         for e in errors)
    assert list(table(at)["Params"]) == compare.default_names()  # one usable network: the classics stay
    at = open_page(PAGE, batch="0", input="99999x99999")
    errors = shown_errors(at)
    assert any("batch must be a whole number from 1 to 64" in e for e in errors)
    assert any("no setting 'input'" in e and "set=resnet18:input=160x160" in e for e in errors)


def test_pickers_change_options_remove_and_add_networks_and_the_url_follows(open_page):
    at = open_page(PAGE, arch=["lenet5", "mobilenet_v1", "vgg16"])
    at.number_input(key="widget:compare.network.1.option.mobilenet_v1.width_mult").set_value(0.5).run()
    assert not at.exception
    assert "mobilenet_v1 (width_mult=0.5)" in table(at)["Params"]
    assert at.query_params["set"] in (["mobilenet_v1:width_mult=0.5"], "mobilenet_v1:width_mult=0.5")
    at.button(key="widget:compare.remove.0").click().run()
    assert list(table(at)["Params"]) == ["mobilenet_v1 (width_mult=0.5)", "vgg16"]
    assert at.button(key="widget:compare.remove.0").disabled  # two is the least
    at.button(key="widget:compare.add").click().run()
    assert list(table(at)["Params"])[-1] == "resnet18" and len(at.query_params["arch"]) == 3
    # what the first picker shows is what the first column computes with, after the removal shifted it
    assert at.selectbox(key="widget:compare.network.0.arch").value == "mobilenet_v1"
    assert at.number_input(key="widget:compare.network.0.option.mobilenet_v1.width_mult").value == 0.5


def test_eight_is_the_most_and_the_add_buttons_say_why(open_page):
    at = open_page(PAGE)
    add = at.button(key="widget:compare.add")
    assert add.disabled and "at most 8" in add.help


def test_the_stage_diff_names_the_stages_that_grew_from_resnet18_to_resnet34(open_page):
    at = open_tab(open_page(PAGE, arch=["lenet5", "vgg16"]), "Stage by stage")
    assert len(at.get("plotly_chart")) == 2
    frame = at.dataframe[-1].value
    assert list(frame["blocks resnet34"]) == ["1", "3", "4", "6", "3", "1"]
    assert list(frame["blocks change"]) == ["0", "+1", "+2", "+4", "+1", "0"]
    assert list(frame["stage resnet18"])[1] == "2: 56x56" and list(frame["params resnet34"])[2] == "1,116,416"
    assert not at.warning  # the stages correspond
    at.selectbox(key="widget:compare.diff.1.arch").set_value("vgg16").run()
    assert not at.exception
    assert any("vgg16's stage 1 (224x224, full resolution) has no counterpart in resnet18" in i.value for i in at.info)
    assert "do not correspond one to one" in at.warning[0].value
    frame = at.dataframe[-1].value  # each side keeps its own numbers; "—" where a side has no stage at that scale
    assert list(frame["stage resnet18"])[:2] == ["—", "1: 112x112"] and list(frame["stage vgg16"])[0] == "1: 224x224"
    assert list(frame["blocks change"])[0] == "—"
    assert at.query_params["diff"] == ["resnet18", "vgg16"]


def test_latency_is_measured_on_the_cpu_for_each_network_at_batch_1_and_the_chosen_batch(open_page):
    at = open_tab(open_page(PAGE, arch=["lenet5", "mobilenet_v2"], batch="2"), "Latency")
    assert "Random weights time the same as trained ones" in " ".join(m.value for m in at.markdown)
    at.button(key="widget:compare.measure").click().run()
    assert not at.exception and not at.error
    frame = at.dataframe[0].value
    assert list(frame["network"]) == ["lenet5", "mobilenet_v2"]
    assert (frame["batch 1 (ms)"] > 0).all() and (frame["batch 2 (ms)"] > 0).all()
    # kept for the next run: shown at once, and nothing left to measure
    at.run()
    assert list(at.dataframe[0].value["network"]) == ["lenet5", "mobilenet_v2"]
    assert at.button(key="widget:compare.measure").disabled
