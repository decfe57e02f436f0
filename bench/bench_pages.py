"""How fast does the Architecture page render? AppTest runs the real app script; prints a table.

- warm switch: the page already showed vgg16 and resnet50 once; picking resnet50 again re-renders it
  (analysis, diagram and source code come from the caches; the table, charts and widgets are rebuilt).
- cold first render: caches cleared, open the page on efficientnet_b7 (the largest EfficientNet), in a
  process that has already run the app once (imports are not part of a page's render).

Run: .venv/bin/python bench/bench_pages.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from explorer.ui.cache import MODELS  # noqa: E402

PAGE = "app_pages/architecture.py"


def open_page(arch: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page(PAGE)
    at.query_params["arch"] = arch
    return at.run()


def timed(action) -> float:
    start = time.perf_counter()
    at = action()
    elapsed = time.perf_counter() - start
    assert not at.exception, at.exception
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    timed(lambda: open_page("lenet5"))  # the app's first run imports torch, torchvision, plotly: not counted
    cold = []
    for _ in range(args.repeats):
        st.cache_data.clear()
        st.cache_resource.clear()
        MODELS.clear()
        cold.append(timed(lambda: open_page("efficientnet_b7")))

    at = open_page("vgg16")
    at.selectbox(key="widget:network.arch").set_value("resnet50").run()
    warm = []
    for _ in range(args.repeats):
        at.selectbox(key="widget:network.arch").set_value("vgg16").run()
        warm.append(timed(lambda: at.selectbox(key="widget:network.arch").set_value("resnet50").run()))

    print("| measurement | median s | min s | max s | target |")
    print("|---|---|---|---|---|")
    print(f"| switch to resnet50, warm | {statistics.median(warm):.2f} | {min(warm):.2f} | {max(warm):.2f} | < 1 s |")
    print(f"| first render of efficientnet_b7, cold caches | {statistics.median(cold):.2f} | {min(cold):.2f} | "
          f"{max(cold):.2f} | < 3 s |")


if __name__ == "__main__":
    main()
