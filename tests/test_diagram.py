"""The diagram (explorer/diagram.py): labels come from the module call they draw."""

from __future__ import annotations

from explorer.diagram import build_diagram

from helpers import analyzed


def test_a_module_called_three_times_is_labelled_with_each_calls_own_shape():
    report = analyzed("resnet50")
    diagram = build_diagram(report, depth=2, expand={"layer1.0"})
    relu = {key: node for key, node in diagram.nodes.items() if key.startswith("layer1.0.relu")}
    assert relu["layer1.0.relu"].title == "relu" and "64x56x56" in relu["layer1.0.relu"].detail
    assert relu["layer1.0.relu@2"].title == "relu (call 3)" and "256x56x56" in relu["layer1.0.relu@2"].detail
