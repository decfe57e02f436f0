"""`python -m explorer compare` and `diff`: each format carries analyze()'s numbers; bad input: one sentence, exit 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from explorer.analysis import analyze
from explorer.cli import main
from helpers import ROOT, analyzed


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_compare_json_has_the_issues_keys_and_analyzes_numbers(capsys):
    code, out, _ = run(capsys, "compare", "resnet18", "mobilenet_v2", "--set", "2:width_mult=0.5", "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == ["architectures"]
    first, second = data["architectures"]
    assert list(first)[:9] == ["architecture", "config", "input_shape", "total_params", "total_macs", "total_flops",
                               "activation_bytes", "param_bytes", "top1"]
    for item, report in ((first, analyzed("resnet18")), (second, analyze("mobilenet_v2", width_mult=0.5))):
        assert item["architecture"] == report.architecture and item["config"] == report.config
        assert item["input_shape"] == list(report.input_shape)
        for key in ("total_params", "total_macs", "total_flops", "activation_bytes", "param_bytes"):
            assert item[key] == getattr(report, key), key
    assert first["top1"] == pytest.approx(69.758) and second["top1"] is None


def test_compare_csv_parses_with_exact_numbers(capsys):
    code, out, _ = run(capsys, "compare", "vgg16", "lenet5", "--format", "csv")
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(out))}
    assert code == 0 and rows[""] == ["vgg16", "lenet5"]
    assert [int(v) for v in rows["MACs"]] == [analyzed("vgg16").total_macs, analyzed("lenet5").total_macs]
    assert int(rows["Activation memory (batch 1)"][1]) == analyzed("lenet5").activation_bytes
    assert rows["ImageNet top-1 (DEFAULT weights)"] == ["71.592", ""]


def test_compare_markdown_has_a_header_row(capsys):
    code, out, _ = run(capsys, "compare", "resnet18", "resnet34", "--format", "markdown")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "|  | resnet18 | resnet34 |" and lines[1] == "|---|---:|---:|"
    assert "| Params | 11,689,512 | 21,797,672 |" in lines


def test_compare_table_names_each_network_and_the_pareto_front(capsys):
    code, out, _ = run(capsys, "compare", "resnet18", "resnet50", "vgg16", "lenet5")
    header = out.splitlines()[0]
    assert code == 0 and all(name in header for name in ("resnet18", "resnet50", "vgg16", "lenet5"))
    assert "25,557,032" in out and "Depth (weighted layers)" in out
    assert out.rstrip().endswith("(Pareto front): resnet18, resnet50")


def test_diff_json_is_the_stage_diff(capsys):
    code, out, _ = run(capsys, "diff", "resnet18", "resnet34", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["corresponds"] and data["notes"] == []
    assert (data["a"], data["b"]) == ("resnet18", "resnet34")
    layer2 = next(row for row in analyzed("resnet34").layers if row.name == "layer2")
    stage = data["stages"][2]
    assert (stage["params_b"], stage["macs_b"], stage["blocks_a"], stage["blocks_b"]) == (
        layer2.params, layer2.macs, 2, 4)
    assert stage["output_shape_a"] == [1, 128, 28, 28]


def test_diff_table_has_a_line_per_stage_and_the_notes(capsys):
    code, out, _ = run(capsys, "diff", "resnet18", "vgg16")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("A = resnet18, B = vgg16")
    assert sum(line.split()[0].isdigit() for line in lines[2:]) == 7
    assert "- vgg16's stage 1 (224x224, full resolution) has no counterpart in resnet18." in lines
    code, out, _ = run(capsys, "diff", "resnet18", "resnet34", "--set", "2:input=160x160")
    assert code == 0 and "The stages correspond one-to-one." in out and "+73,984" in out


@pytest.mark.parametrize("argv, fragment", [
    (["compare", "resnet18"], "Compare 2 to 8 networks at a time, not 1."),
    (["compare", *["lenet5"] * 9], "not 9."),
    (["compare", "resnet18", "resnet5"], "There is no architecture called 'resnet5'"),
    (["compare", "resnet18", "vgg16", "--set", "num_classes=10"], "Settings are written NETWORK:KEY=VALUE"),
    (["compare", "resnet18", "vgg16", "--set", "alexnet:num_classes=10"], "not among the networks compared"),
    (["compare", "resnet18", "resnet18", "--set", "resnet18:num_classes=10"], "must name it by position"),
    (["compare", "resnet18", "vgg16", "--set", "2:width=3"], "vgg16 has no option 'width'"),
    (["compare", "resnet18", "vgg16", "--set", "1:input=9"], "two whole numbers HxW"),
    (["compare", "lenet5", "vgg16", "--set", "1:input=8x8"], "would produce an empty output"),
    (["compare", "resnet18", "vgg16", "--format", "latex"], "invalid choice: 'latex'"),
    (["diff", "resnet18"], "the following arguments are required: b"),
    (["diff", "resnet18", "vgg16", "--set", "3:num_classes=2"], "names network 3, but there are only 2 networks"),
])
def test_errors_are_one_line_on_stderr_with_exit_code_2(capsys, argv, fragment):
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own usage errors
        code = exited.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert fragment in captured.err and len(captured.err.strip().splitlines()) == 1


def test_the_real_command_prints_no_traceback():
    result = subprocess.run([sys.executable, "-m", "explorer", "compare", "resnet18", "vgg16", "--set", "x"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: Settings are written") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
