"""`python -m explorer`: listing, summaries in every format, and one-sentence errors with exit code 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from explorer.cli import main
from helpers import ROOT


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_table_and_json(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines()[1].startswith("lenet5")
    code, out, _ = run(capsys, "list", "--format", "json")
    entries = json.loads(out)
    names = [e["name"] for e in entries]
    assert code == 0 and "resnet50" in names and "inverted_residual" in names
    lenet = entries[0]
    assert lenet["year"] == 1998 and lenet["options"]["activation"]["choices"] == ["tanh", "relu"]


def test_summary_table_reads_like_torchinfo_with_labelled_macs_and_flops(capsys):
    code, out, _ = run(capsys, "summary", "lenet5")
    assert code == 0
    assert "MACs" in out and "FLOPs (2xMACs)" in out
    assert "Total params: 61,706" in out
    assert "MACs (multiply-accumulates): 416,520" in out and "FLOPs (= 2 x MACs): 833,040" in out
    assert "└─0 (Conv2d)" in out


def test_summary_json_has_the_documented_keys(capsys):
    code, out, _ = run(capsys, "summary", "mobilenet_v1", "--set", "width_mult=0.5", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert {"architecture", "config", "input_shape", "total_params", "trainable_params", "total_macs",
            "total_flops", "activation_bytes", "layers"} <= set(data)
    assert data["config"]["width_mult"] == 0.5 and data["input_shape"] == [1, 3, 224, 224]
    assert (data["total_params"], data["total_macs"]) == (1_331_592, 149_497_088)
    layer = data["layers"][1]
    assert {"name", "type", "depth", "input_shape", "output_shape", "params", "macs", "receptive_field"} <= set(layer)


def test_summary_input_shape_and_depth(capsys):
    code, out, _ = run(capsys, "summary", "mobilenet_v1", "--input-shape", "3,128,128", "--depth", "1",
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["total_macs"] == 186_400_768
    assert max(layer["depth"] for layer in data["layers"]) == 1


def test_summary_csv_and_markdown_and_latex(capsys):
    code, out, _ = run(capsys, "summary", "lenet5", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and rows[2]["Type"] == "Conv2d" and rows[2]["MACs"] == "117600"
    assert rows[2]["Output (CxHxW)"] == "6x28x28" and rows[2]["Receptive field"] == "5"
    code, out, _ = run(capsys, "summary", "lenet5", "--format", "markdown")
    assert code == 0 and out.startswith("| Layer | Type |") and "| 117,600 |" in out
    code, out, _ = run(capsys, "summary", "lenet5", "--format", "latex")
    assert code == 0 and out.startswith("\\begin{tabular}") and "features.0 & Conv2d" in out


@pytest.mark.parametrize("argv, fragment", [
    (["summary", "resnet5"], "There is no architecture called 'resnet5'. Did you mean resnet50"),
    (["summary", "mobilenet_v1", "--set", "width=2"], "has no option 'width'; its options are"),
    (["summary", "mobilenet_v1", "--set", "width_mult=9"], "must be float in [0.1, 2.0]"),
    (["summary", "mobilenet_v1", "--set", "width_mult"], "Options are written KEY=VALUE"),
    (["summary", "lenet5", "--input-shape", "1,8,8"],
     "features.3 (Conv2d) would produce an empty output: its input is 2x2 but its kernel is 5x5"),
    (["summary", "lenet5", "--input-shape", "1,x"], "three whole numbers C,H,W"),
    (["summary", "lenet5", "--input-shape", "1,99999,32"], "too large"),
    (["summary", "lenet5", "--format", "yaml"], "invalid choice: 'yaml'"),
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["summary", "lenet5", "--depth", "-1"], "--depth: -1 is outside 0 to 64"),
    (["summary", "lenet5", "--depth", "two"], "--depth: 'two' is not a whole number"),
    (["cost", "inception", "--height", "9" * 41], "--height: " + "9" * 40 + " is outside 1 to 4096"),
    (["cost", "inception", "--padding", "-1"], "--padding: -1 is outside 0 to 4096"),
])
def test_errors_are_one_sentence_on_stderr_with_exit_code_2(capsys, argv, fragment):
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own usage errors
        code = exited.code
    captured = capsys.readouterr()
    assert code == 2
    assert fragment in captured.err and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["summary", "lenet5", "--input-shape", "1,8,8"], ["summary", "nope"],
                                  ["summary", "lenet5", "--depth", "-1"]])
def test_the_real_command_prints_no_traceback(argv):
    result = subprocess.run([sys.executable, "-m", "explorer", *argv], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
