"""Golden files: what the CLI prints and the diagrams' DOT, byte for byte, so any change in an output shows as a
readable diff in review (as torchinfo's tests/test_output/). After an intended change, regenerate them with
`.venv/bin/python -m pytest tests/test_golden.py --overwrite` and review the diff."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from explorer.analysis import analyze
from explorer.cli import main
from explorer.costs import COMPARISONS
from explorer.diagram import build_diagram, default_depth

GOLDEN = Path(__file__).parent / "golden"


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


def _dot(name: str) -> str:
    report = analyze(name)
    return build_diagram(report, default_depth(report)).to_dot()


CASES = {
    **{f"summary_{name}": (lambda name=name: _cli("summary", name)) for name in ("lenet5", "alexnet_2012", "resnet50")},
    **{f"dot_{name}": (lambda name=name: _dot(name)) for name in ("resnet18", "googlenet")},
    **{f"cost_{name}": (lambda name=name: _cli("cost", name)) for name in COMPARISONS},
    "list_json": lambda: _cli("list", "--format", "json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_output_matches_its_golden_file(case, request):
    path = GOLDEN / f"{case}.out"
    output = CASES[case]()
    if request.config.getoption("--overwrite"):
        path.write_text(output)
    assert path.exists(), f"{path.name} is missing: run pytest {__file__} --overwrite"
    assert output == path.read_text(), f"{case} changed: see the diff above, or regenerate with --overwrite"
