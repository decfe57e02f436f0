"""Cost lab formulas: the course's numbers, agreement with FlopCounterMode on real modules, timing, errors."""

from __future__ import annotations

import json
import time

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from explorer import budget
from explorer.budget import BudgetError
from explorer.cli import main
from explorer.costs import (
    BLOCKS, COMPARISONS, WARMUP_RUNS, CostInputError, Timing, build_variant, compare, estimate_seconds, explain_gap, inception,
    inverted_residual, measure,
    pointwise, residual, separable,
)


def test_the_course_inception_numbers():
    c = inception()
    plain, bottleneck = c.variants["plain"], c.variants["bottleneck"]
    assert plain.macs == 120_422_400 and plain.params == 153_600
    assert [s.macs for s in bottleneck.stages] == [2_408_448, 10_035_200] and bottleneck.macs == 12_443_648
    assert [s.params for s in bottleneck.stages] == [3_072, 12_800] and bottleneck.params == 15_872
    assert plain.flops == 2 * plain.macs and c.ratio == pytest.approx(12_443_648 / 120_422_400)
    assert plain.stages[0].latex() == r"28 \times 28 \times 32 \times 5 \times 5 \times 192 = 120{,}422{,}400"


def test_the_course_separable_numbers():
    c = separable()
    assert c.variants["standard"].macs == 2_160
    assert [s.macs for s in c.variants["separable"].stages] == [432, 240] and c.variants["separable"].macs == 672
    assert c.ratio == pytest.approx(1 / 5 + 1 / 9)
    assert c.variants["separable"].output_shape == (5, 4, 4)


def test_pointwise_and_inverted_residual_shapes_follow_the_course():
    assert pointwise().variants["keep"].output_shape == (32, 6, 6)
    assert pointwise().variants["keep"].macs == 6 * 6 * 32 * 32
    stages = inverted_residual().variants["bottleneck"].stages
    assert [s.output_shape for s in stages] == [(18, 6, 6), (18, 6, 6), (3, 6, 6)]
    assert inverted_residual().variants["bottleneck"].adds_input


def test_residual_projection_costs_the_one_by_one():
    c = residual(in_channels=64, out_channels=128, stride=2)
    extra = c.variants["projection"].macs - c.variants["identity"].macs
    assert extra == 28 * 28 * 128 * 64 and "not possible" in c.variants["identity"].note


def _check_against_real_modules(comparison) -> None:
    for variant in comparison.variants.values():
        module = build_variant(variant)
        x = torch.zeros(1, *comparison.input_shape)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            out = module(x)
        assert counter.get_total_flops() == 2 * variant.macs
        assert tuple(out.shape[1:]) == variant.output_shape
        assert sum(p.numel() for p in module.parameters()) == variant.params
        assert sum(p.numel() for p in build_variant(variant, bias=True).parameters()) == variant.params_with_bias


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(h=st.integers(3, 20), w=st.integers(3, 20), cin=st.integers(1, 24), cout=st.integers(1, 24),
       k=st.sampled_from([1, 3, 5]), s=st.integers(1, 2), b=st.integers(1, 12), e=st.integers(1, 6))
def test_formulas_equal_flop_counter_on_real_modules(h, w, cin, cout, k, s, b, e):
    for comparison in (inception(h, w, cin, cout, k, b, s), separable(h, w, cin, cout, k, s, k // 2),
                       pointwise(h, w, cin, cout), inverted_residual(h, w, cin, cout, e, k, s),
                       residual(h, w, cin, cout, k, s)):
        _check_against_real_modules(comparison)


@pytest.mark.parametrize("name", ["inception", "separable", "inverted-residual", "residual"])
@pytest.mark.parametrize("kernel, stride", [(2, 1), (4, 1), (4, 2)])
def test_an_even_kernel_gives_modules_that_run_or_one_sentence(name, kernel, stride):
    """Baseline of issue 12: a 4x4 kernel in the MobileNet v2 bottleneck added a 7x7 output to an 8x8 input."""
    try:
        comparison = compare(name, kernel=kernel, stride=stride)
    except CostInputError as error:
        assert name == "residual" and str(error).endswith("so they cannot be added; use an odd kernel.")
        return
    _check_against_real_modules(comparison)


def test_measuring_runs_real_modules_on_the_cpu_with_progress_per_variant():
    c = separable()
    progress = []
    timings = measure(c, batch=2, device="cpu", block_seconds=0.002, progress=lambda f, m: progress.append((f, m)))
    assert set(timings) == {"standard", "separable"} and all(t.median > 0 for t in timings.values())
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(progress) == 2 * (WARMUP_RUNS + BLOCKS)
    assert {m.split(":")[0] for _, m in progress} == {"standard", "separable"}
    assert all(t.runs == BLOCKS for t in timings.values())  # both variants timed alike


def test_the_gap_is_explained_in_the_direction_it_goes_and_noise_is_called_noise():
    c = separable()  # theory: separable does 0.31 of the standard's MACs, a 3.21x speed-up
    theory = c.variants["standard"].macs / c.variants["separable"].macs

    def timings(standard: float, separable: float, spread: float = 0.0) -> dict[str, Timing]:
        return {"standard": Timing(standard, spread * standard, BLOCKS), "separable": Timing(separable, 0.0, BLOCKS)}

    assert explain_gap(c, timings(theory, 1.0)) == ""
    slower = explain_gap(c, timings(1.0, 1.0))
    assert slower.startswith("Measured speed-up 1.00x against 3.21x in theory: depthwise convolutions")
    faster = explain_gap(c, timings(10 * theory, 1.0))
    assert faster.startswith("Measured speed-up 32.14x against 3.21x") and "loses more than its MACs say" in faster
    noisy = explain_gap(c, timings(10 * theory, 1.0, spread=3.4))  # MobileNet v2 in review: IQR 36 ms, median 10.7
    assert noisy.startswith("The timing was noisy (standard varied") and noisy.endswith("time again.")


@pytest.mark.parametrize("name, sizes, batch, expected", [
    # issue 11: tried to allocate 17 GB
    ("separable", {"height": 2048, "width": 2048}, 64, r"would need about 16.04 GiB .* budget of 2.00 GiB"),
    # issue 11: was still warming up after 150 s, and could not be stopped
    ("inception", {"height": 512, "width": 512, "kernel": 9}, 8, r"would need about 3.56 GiB"),
    ("inception", {"height": 256, "width": 256, "kernel": 9, "in_channels": 2048, "out_channels": 512}, 1,
     r"^Timing both variants at batch 1 would take about \d+ s, more than this server's limit of 60 s"),
])
def test_timing_beyond_the_budget_is_refused_before_it_starts(name, sizes, batch, expected):
    start = time.perf_counter()
    with pytest.raises(BudgetError, match=expected):
        measure(compare(name, **sizes), batch=batch)
    assert time.perf_counter() - start < 2


def test_the_predicted_time_counts_every_block_and_the_measured_passes_can_still_stop_a_run(monkeypatch):
    from explorer.costs.timing import ADVICE
    from explorer.timing import check_time

    comparison = separable()
    monkeypatch.setenv(budget.TIME_ENV, "1")
    # tiny variants: 2 x 7 blocks of at least 30 ms each, so never "0.0 s"
    assert 2 * BLOCKS * 0.03 <= estimate_seconds(comparison, 1, "cpu") < 1
    with pytest.raises(BudgetError, match=r"^Timing both variants at batch 1 would take about 7\.\d s"):
        measure(comparison, batch=1, block_seconds=0.5)
    # when passes measured in the warm-up run slower than predicted, the run stops before its blocks
    with pytest.raises(BudgetError, match=r"^One pass took 300 ms, so timing would take about 1\.[34] s, more than "
                                          r"this server's limit of 1\.0 s; use a smaller size or a smaller batch\.$"):
        check_time(time.perf_counter() - 0.9, 0.5, 0.3, 1.0, ADVICE)
    check_time(time.perf_counter(), 0.5, 0.3, 1.0, ADVICE)  # within the limit: no error


@pytest.mark.parametrize("name, settings_, message", [
    ("inception", {"height": 0}, "Height must be at least 1, not 0"),
    ("separable", {"kernel": 9}, "does not fit the 6x6 padded input"),
    ("separable", {"stride": -1}, "Stride must be at least 1"),
    ("pointwise", {"groups": 3}, "must both divide into 3 groups"),
    ("inception", {"padding": -1}, "Padding cannot be negative"),
    ("inception", {"expansion": 2}, "inception does not use expansion"),
    ("bogus", {}, "There is no comparison 'bogus'"),
])
def test_bad_sizes_are_one_sentence(name, settings_, message):
    with pytest.raises(CostInputError, match=message):
        compare(name, **settings_)


def test_cli_table_and_json(capsys):
    assert main(["cost", "inception"]) == 0
    out = capsys.readouterr().out
    assert "120,422,400" in out and "12,443,648" in out and "153,600" in out and "15,872" in out
    assert main(["cost", "separable", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["comparison"] == "separable" and data["input_shape"] == [3, 6, 6]
    assert data["variants"]["standard"]["macs"] == 2160 and data["variants"]["separable"]["macs"] == 672
    assert data["variants"]["separable"]["stages"][0] == {"name": "depthwise 3x3", "macs": 432, "params": 27,
                                                         "output_shape": [3, 4, 4]}
    assert data["ratio"] == pytest.approx(672 / 2160)
    for name in COMPARISONS:
        assert main(["cost", name, "--format", "json"]) == 0
        assert json.loads(capsys.readouterr().out)["comparison"] == name


def test_cli_errors_exit_2(capsys):
    assert main(["cost", "separable", "--kernel", "9"]) == 2
    assert "does not fit" in capsys.readouterr().err


def test_each_declared_option_table_is_its_builders_signature_and_every_size_shares_its_bounds():
    """The page, compare() and the CLI read SPECS; the builders keep their defaults for direct calls."""
    import inspect

    from explorer.costs import MAX_SIZE, SPECS, all_settings

    assert COMPARISONS == tuple(SPECS)
    for spec in SPECS.values():
        signature = inspect.signature(spec.builder).parameters
        assert {k: p.default for k, p in signature.items()} == {k: o.default for k, o in spec.options.items()}
        assert list(signature) == list(spec.options) and all(o.value_type is int for o in spec.options.values())
        assert {sweep.setting for sweep in spec.sweeps} <= set(spec.options)
        for key, option in spec.options.items():
            assert (option.low, option.high) == (all_settings()[key].low, all_settings()[key].high) == \
                (0 if key == "padding" else 1, MAX_SIZE)


def test_sweeps_leave_out_what_does_not_fit_and_the_separable_formula_is_the_counted_ratio():
    from explorer.costs import sweeps

    by_setting = {swept.setting: swept for swept in sweeps("separable", {"kernel": 5, "padding": None})}
    assert by_setting["kernel"].values == [1, 3, 5] and by_setting["kernel"].theory is None  # 7 and 9 exceed 6x6
    out = by_setting["out_channels"]
    assert out.values == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert [out.theory(n) for n in out.values] == pytest.approx([c.ratio for c in out.comparisons])
    assert [swept.setting for swept in sweeps("inception", {"padding": None})] == ["bottleneck", "kernel"]
