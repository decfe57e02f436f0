"""Generic: change every widget of a page, hide it (an early stop, another page), come back, and check that
every widget still shows what was chosen and that the page computes with it (the URL and the model agree)."""

from __future__ import annotations

import pytest

from explorer.ui.state import WIDGET_PREFIX

KINDS = ("number_input", "slider", "selectbox", "checkbox", "toggle", "radio")
# Widgets whose change replaces the page they are on (another network, an upload the test cannot make).
SKIP = {"widget:network.arch", "widget:compare.network.0.arch", "widget:compare.network.1.arch",
        "widget:compare.diff.0.arch", "widget:compare.diff.1.arch", "widget:feature_maps.image.mode", "widget:augment.image.mode",
        "widget:augment.pipeline.new", "widget:architecture.download_rows"}


def _widgets(at):
    for kind in KINDS:
        for widget in getattr(at, kind):
            if widget.key and widget.key.startswith(WIDGET_PREFIX) and widget.key not in SKIP:
                yield kind, widget


def _other_value(kind: str, widget):
    value = widget.value
    if kind in ("checkbox", "toggle"):
        return not value
    if kind in ("selectbox", "radio"):
        if str(value) not in widget.options:
            return None  # labels differ from values (format_func): AppTest cannot map a label back
        others = [o for o in widget.options if o != str(value) and "Upload" not in o]
        return others[-1] if others else None
    low = widget.min if widget.min is not None else value - 10
    high = widget.max if widget.max is not None else value + 10
    if isinstance(value, tuple):
        return None
    step = widget.step or 1
    candidate = value + step if value + step <= high else value - step
    candidate = int(candidate) if isinstance(value, int) else candidate
    return candidate if low <= candidate <= high else None


def _shown(at) -> dict[str, object]:
    return {widget.key: widget.value for _, widget in _widgets(at)}


@pytest.mark.parametrize("page, query", [
    ("app_pages/architecture.py", {"arch": "resnet18"}),
    ("app_pages/feature_maps.py", {"arch": "resnet18"}),
    ("app_pages/augmentation.py", {}),
    ("app_pages/cost_lab.py", {}),
    ("app_pages/compare.py", {"arch": ["lenet5", "mobilenet_v1"]}),
    ("app_pages/scaling.py", {"phi": "1"}),
    ("app_pages/transfer.py", {"arch": "resnet18"}),
])
def test_every_widget_keeps_its_value_through_hiding_and_navigation(open_page, page, query):
    at = open_page(page, **query)
    assert not at.exception
    changed: dict[str, object] = {}
    for kind, widget in list(_widgets(at)):
        if widget.key in changed:
            continue
        current = next((w for k, w in _widgets(at) if w.key == widget.key), None)
        if current is None:
            continue
        new = _other_value(kind, current)
        if new is None:
            continue
        current.set_value(new)
        at.run()
        assert not at.exception, widget.key
        changed[widget.key] = next(w.value for k, w in _widgets(at) if w.key == widget.key)
    assert len(changed) >= 3, changed
    before = _shown(at)
    url = dict(at.query_params)
    # an early stop hides everything below the image input; then another page; then back
    mode = "widget:feature_maps.image.mode" if "feature" in page else "widget:augment.image.mode"
    if mode in [w.key for w in at.radio]:
        at.radio(key=mode).set_value("Upload").run()
        at.radio(key=mode).set_value("Sample").run()
    at.switch_page("app_pages/home.py").run()
    at.switch_page(page).run()
    assert not at.exception
    after = _shown(at)
    assert {k: after.get(k) for k in before} == before
    assert all(at.session_state[k.removeprefix(WIDGET_PREFIX)] == v for k, v in after.items()
               if k.removeprefix(WIDGET_PREFIX) in at.session_state)
    assert {k: v for k, v in dict(at.query_params).items()} == url
