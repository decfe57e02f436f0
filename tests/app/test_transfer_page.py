"""Transfer learning page, the planner: the head found and replaced, counts equal the planner's (and analyze()'s
totals), freeze policies change what trains, and networks without a head get one sentence."""

from __future__ import annotations

from explorer.analysis import analyze
from explorer.transfer.planner import plan

from app_helpers import shown_errors

PAGE = "app_pages/transfer.py"


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_head_only_by_default_with_exact_counts_a_table_and_a_chart(open_page):
    at = open_page(PAGE, arch="resnet18")
    assert not at.exception and not at.error
    expected = plan("resnet18", {}, 10, "head")
    assert "`fc` (Linear 512 -> 1000) becomes a new Linear 512 -> 10" in at.markdown[1].value
    assert f"{expected.trainable_params:,} of {expected.total_params:,} · frozen {expected.frozen_params:,}" in captions(at)
    assert expected.trainable_params == 512 * 10 + 10
    assert expected.forward_macs == analyze("resnet18", num_classes=10).total_macs
    frame = at.dataframe[0].value
    assert list(frame["stage"])[-1] == "total" and list(frame["trainable"])[-1] == f"{expected.trainable_params:,}"
    assert len(at.get("plotly_chart")) == 1


def test_freezing_stages_and_nothing_changes_what_trains(open_page):
    at = open_page(PAGE, arch="resnet18")
    at.radio(key="widget:transfer.policy").set_value("stage").run()
    stage = at.slider(key="widget:transfer.stage").value
    expected = plan("resnet18", {}, 10, "stage", stage)
    assert f"{expected.trainable_params:,} of {expected.total_params:,} · frozen {expected.frozen_params:,}" in captions(at)
    at.radio(key="widget:transfer.policy").set_value("none").run()
    everything = plan("resnet18", {}, 10, "none")
    assert everything.frozen_params == 0
    assert f"{everything.backward_macs:,} (only through what trains)" in captions(at)
    at.number_input(key="widget:transfer.classes").set_value(5).run()
    assert "512 -> 5" in at.markdown[1].value


def test_networks_without_a_head_to_replace_say_so_in_one_sentence(open_page):
    at = open_page(PAGE, arch="lenet5_1998")
    assert not at.exception
    assert "no head to replace" in shown_errors(at)[0]
    at = open_page(PAGE, arch="residual_block")
    assert not at.exception and "not one score per class" in shown_errors(at)[0]


def test_the_digits_demo_runs_to_the_end_with_both_curves_and_says_what_it_measured(open_page):
    from explorer.transfer import demo
    from dataclasses import replace

    at = open_page(PAGE)
    at.session_state["transfer.tab"] = "Digits demo (offline)"
    at.run()
    at.number_input(key="widget:transfer.demo.epochs").set_value(4).run()
    at.button(key="widget:transfer.demo.run").click().run()
    assert not at.exception and not at.error
    record = at.session_state["transfer.demo"]
    assert record["done"] and len(record["frozen"]) == 4 and len(record["scratch"]) == 4
    expected = demo.run_demo(demo.DEFAULT_SAMPLES_PER_CLASS, replace(demo.DEFAULT_CONFIG, epochs=4))
    assert record["frozen"][-1].held_out_accuracy == expected.frozen.held_out_accuracy  # seeded: the same run
    verdict = at.info[0].value
    assert f"frozen {expected.frozen.held_out_accuracy:.1%}" in verdict
    assert f"scratch {expected.scratch.held_out_accuracy:.1%}" in verdict
    assert len(at.get("plotly_chart")) == 1
