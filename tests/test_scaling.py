"""Compound scaling: the paper's maths as torchvision rounds it, the registry entry it builds, and what it measures."""

from __future__ import annotations

import math
import time

import pytest
import torch
import torchvision

from explorer import scaling
from explorer.analysis import analyze
from explorer.errors import InvalidOptionError
from explorer.zoo import build, get_spec
from explorer.zoo.efficientnet_scaled import MAX_MULTIPLIER

# Table 1 of Tan and Le (2019), EfficientNet-B0: input resolution, output channels and layers of its nine stages
PAPER_RESOLUTIONS = [224, 112, 112, 56, 28, 14, 14, 7, 7]
PAPER_CHANNELS = [32, 16, 24, 40, 80, 112, 192, 320, 1280]
PAPER_LAYERS = [1, 1, 2, 2, 3, 3, 4, 1, 1]


def stages_of(model: torch.nn.Module) -> tuple[list[int], list[int]]:
    """Return (layers, output channels) of a torchvision EfficientNet's nine stages, read off the built model."""
    features = model.features
    layers = [1] + [len(stage) for stage in features[1:8]] + [1]
    channels = [features[0][0].out_channels] + [stage[-1].out_channels for stage in features[1:8]] \
        + [features[8][0].out_channels]
    return layers, channels


def test_b0_is_table_1_of_the_paper():
    assert scaling.stage_layers(1.0) == PAPER_LAYERS
    assert scaling.stage_channels(1.0) == PAPER_CHANNELS
    assert scaling.stage_resolutions(224) == PAPER_RESOLUTIONS
    assert [(res, ch, n) for _, res, ch, n in scaling.TABLE_1] == list(zip(PAPER_RESOLUTIONS, PAPER_CHANNELS, PAPER_LAYERS))


@pytest.mark.parametrize("variant", scaling.torchvision_variants(), ids=lambda v: v.name)
def test_stage_rounding_is_torchvisions_for_b0_to_b7(variant):
    with torch.device("meta"):
        model = getattr(torchvision.models, variant.registry_name)()
    assert stages_of(model) == (scaling.stage_layers(variant.depth_mult), scaling.stage_channels(variant.width_mult))


def test_multipliers_follow_equation_3_rounded_as_built():
    assert scaling.constraint() == pytest.approx(1.92027) and scaling.PAPER_TARGET == 2.0
    assert scaling.constraint(2.0, 1.0, 1.0) == 2.0
    at_one = scaling.multipliers(1.0)
    assert (at_one.depth, at_one.width, at_one.resolution) == (1.2, 1.1, 258)
    assert at_one.flops_factor == pytest.approx(1.92027)
    assert scaling.multipliers(2.0).flops_factor == pytest.approx(1.92027 ** 2)
    assert scaling.multipliers(0.5).resolution == 240  # 224 * 1.15^0.5 = 240.2
    assert scaling.multipliers(0.0) == scaling.Multipliers(1.0, 1.0, 224, 1.0)
    assert scaling.stage_layers(1.2) == [1, 2, 3, 3, 4, 4, 5, 2, 1]  # ceil: every MBConv stage gains a layer
    assert scaling.stage_channels(1.1) == [32, 16, 24, 48, 88, 120, 208, 352, 1408]  # to multiples of 8
    assert scaling.stage_channels(0.5)[:2] == [16, 8]


@pytest.mark.parametrize("resolution", [224, 258, 301, 600])
def test_stage_resolutions_are_the_built_networks(resolution):
    report = analyze("efficientnet", phi=1.0, alpha=1.0, beta=1.0, gamma=resolution / 224)
    inputs = {row.name: row.input_shape[-1] for row in report.layers}
    assert [inputs[f"features.{i}"] for i in range(9)] == scaling.stage_resolutions(resolution)


def test_phi_zero_is_torchvisions_b0_exactly():
    mine, theirs = analyze("efficientnet", phi=0), analyze("efficientnet_b0")
    assert (mine.total_params, mine.total_macs) == (theirs.total_params, theirs.total_macs) == (5_288_548, 385_814_752)


@pytest.mark.parametrize("variant", scaling.torchvision_variants(), ids=lambda v: v.name)
def test_each_variants_config_builds_torchvisions_network(variant):
    mine, theirs = analyze("efficientnet", **variant.config), analyze(variant.registry_name)
    assert mine.input_shape == theirs.input_shape == (1, 3, variant.resolution, variant.resolution)
    assert (mine.total_params, mine.total_macs) == (theirs.total_params, theirs.total_macs)


def test_variants_carry_torchvisions_documented_figures():
    variants = scaling.torchvision_variants()
    assert [v.name for v in variants] == [f"B{k}" for k in range(8)] and [v.phi for v in variants] == list(range(8))
    for variant in variants:
        meta = torchvision.models.get_model_weights(variant.registry_name).DEFAULT.meta
        assert variant.params == meta["num_params"] and variant.gmacs == meta["_ops"]
        assert variant.top1 == meta["_metrics"]["ImageNet-1K"]["acc@1"]
        report = analyze(variant.registry_name)
        assert report.total_params == variant.params
        assert report.total_macs / 1e9 == pytest.approx(variant.gmacs, abs=5e-4)  # meta rounds to 3 decimals
        assert variant.nearest_phi == pytest.approx(math.log(variant.gmacs / variants[0].gmacs) / math.log(scaling.constraint()))
    b2 = variants[2]
    assert (b2.width_mult, b2.depth_mult, b2.resolution) == (1.1, 1.2, 288)
    assert get_spec("efficientnet_b2").default_input_shape() == (3, 288, 288)
    assert (variants[7].width_mult, variants[7].depth_mult, variants[7].resolution) == (2.0, 3.1, 600)


@pytest.mark.parametrize("config, words", [
    ({"phi": 1.05, "alpha": 16.0}, "would be 18.4x deeper than B0, but the depth multiplier alpha^phi can be at most 16"),
    ({"phi": 8, "alpha": 4.0}, "would be 65,536x deeper than B0"),
    ({"phi": 1.05, "beta": 16.0}, "would be 18.4x wider than B0, but the width multiplier beta^phi can be at most 16"),
    ({"phi": 2, "gamma": 6.048}, "would take 8194x8194 images, but the resolution 224 x gamma^phi must lie between 1 and 8192"),
])
def test_caps_refuse_with_one_sentence(config, words):
    for attempt in (lambda: analyze("efficientnet", **config), lambda: build("efficientnet", **config),
                    lambda: get_spec("efficientnet").default_input_shape(config),
                    lambda: scaling.config_for(**config)):
        with pytest.raises(InvalidOptionError) as caught:
            attempt()
        message = str(caught.value)
        assert words in message and message.endswith(".") and ". " not in message


def test_just_within_the_caps_builds():
    assert get_spec("efficientnet").default_input_shape({"phi": 2, "gamma": 6.047}) == (3, 8191, 8191)
    with torch.device("meta"):
        build("efficientnet", phi=1.0, alpha=16.0, beta=16.0)


def test_bases_are_options_so_a_link_reproduces_single_dimension_scaling():
    spec = get_spec("efficientnet")
    assert {key: spec.options[key].default for key in ("alpha", "beta", "gamma")} == \
        {"alpha": scaling.ALPHA, "beta": scaling.BETA, "gamma": scaling.GAMMA} == {"alpha": 1.2, "beta": 1.1, "gamma": 1.15}
    link = spec.resolve_config({"phi": "1.5", "beta": "1.0", "gamma": "1.0"})  # as a URL hands them over
    depth_only = analyze("efficientnet", **link)
    assert depth_only.input_shape == (1, 3, 224, 224)
    assert scaling.stage_layers(1.2 ** 1.5) == [1, 2, 3, 3, 4, 4, 6, 2, 1]
    with pytest.raises(InvalidOptionError, match="must be float in"):
        spec.resolve_config({"alpha": 0.9})


def test_the_largest_networks_within_the_caps_build_quickly_on_meta():
    start = time.perf_counter()
    with torch.device("meta"):
        model = build("efficientnet", phi=1.0, alpha=MAX_MULTIPLIER, beta=MAX_MULTIPLIER, gamma=MAX_MULTIPLIER)
    assert time.perf_counter() - start < 10
    assert sum(len(stage) for stage in model.features[1:8]) == 16 * 16
    assert get_spec("efficientnet").default_input_shape({"phi": 1.0, "gamma": MAX_MULTIPLIER}) == (3, 3584, 3584)


def test_highest_phi_is_where_the_caps_begin():
    assert scaling.highest_phi() == 8.0
    assert scaling.highest_phi(2.0, 2.0, 2.0) == 4.0
    limit = scaling.highest_phi(1.5, 1.1, 1.15)
    assert limit == pytest.approx(math.log(16) / math.log(1.5))
    assert scaling.within_caps(limit, 1.5) and not scaling.within_caps(limit + 1e-9, 1.5)


@pytest.mark.parametrize("alpha", [1.2, 1.35, 2.0])
def test_depth_steps_closed_form_agrees_with_the_rounding(alpha):
    steps = scaling.depth_steps(alpha, -2.0, 8.0)
    assert steps == sorted(steps, key=lambda step: step.phi) and steps
    for step in steps:
        before = scaling.stage_layers(alpha ** (step.phi - 1e-9))
        after = scaling.stage_layers(alpha ** (step.phi + 1e-9))
        changed = tuple(stage for stage in range(1, 10) if before[stage - 1] != after[stage - 1])
        assert changed == step.stages
        assert tuple(before[s - 1] for s in step.stages) == step.before
        assert tuple(after[s - 1] for s in step.stages) == step.after == tuple(n + 1 for n in step.before)
    # no step is missed: on a fine grid the layers only change across a listed step
    grid = [-2.0 + i / 500 for i in range(5001)]
    for left, right in zip(grid, grid[1:]):
        if scaling.stage_layers(alpha ** left) != scaling.stage_layers(alpha ** right):
            assert any(left <= step.phi < right for step in steps), (left, right)


def test_phi_just_above_zero_adds_a_layer_to_every_stage_and_about_half_the_macs():
    first = scaling.depth_steps(1.2, 0.0, 0.01)
    assert len(first) == 1 and first[0].phi == 0.0 and first[0].stages == scaling.MBCONV_STAGES
    assert first[0].before == (1, 2, 2, 3, 3, 4, 1) and first[0].after == (2, 3, 3, 4, 4, 5, 2)
    b0, nudged = analyze("efficientnet", phi=0.0), analyze("efficientnet", phi=0.01)
    assert nudged.input_shape == b0.input_shape  # 224 * 1.15^0.01 still rounds to 224
    assert nudged.total_macs / b0.total_macs - 1 == pytest.approx(0.4765, abs=5e-4)  # the "+47 %"
    assert scaling.depth_steps(1.0, -2.0, 8.0) == []


def test_scaling_curve_is_analyze_and_reports_progress():
    calls = []
    points = scaling.scaling_curve(phis=[0.0, 0.5, 2.75], progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    for point in points:
        report = analyze("efficientnet", phi=point.phi)
        assert (point.params, point.macs, point.activation_bytes) == \
            (report.total_params, report.total_macs, report.activation_bytes)
        assert report.input_shape == (1, 3, point.resolution, point.resolution)
        assert point.layers == tuple(scaling.stage_layers(1.2 ** point.phi)) and point.config["phi"] == point.phi
    beyond = scaling.scaling_curve(1.0, 1.0, 2.0, phis=[4.0, 5.0, 6.0])  # 224 * 2^6 = 14336 px > MAX_INPUT_SIDE
    assert [(p.phi, p.resolution) for p in beyond] == [(4.0, 3584), (5.0, 7168)]


def _count_configs() -> list[dict]:
    """Configs across the caps: several bases over phi -1..7, both sides of depth steps, small and odd
    resolutions, the depth and width caps, other class counts."""
    configs = []
    for alpha, beta, gamma in [(1.2, 1.1, 1.15), (1.35, 1.05, 1.3), (1.9, 1.0, 1.02), (1.0, 1.7, 1.0), (1.05, 1.3, 1.6)]:
        for phi in (-1.0, -0.37, 0.0, 0.01, 1.0, 2.5, 4.0, 7.0):
            if scaling.within_caps(phi, alpha, beta, gamma):
                configs.append(dict(phi=phi, alpha=alpha, beta=beta, gamma=gamma))
    for alpha in (1.2, 1.35):
        steps = scaling.depth_steps(alpha, -1.0, 7.0)
        for step in (steps[0], steps[1], steps[len(steps) // 2], steps[-1]):
            for phi in (step.phi - 1e-9, step.phi, step.phi + 1e-9):
                configs.append(dict(phi=phi, alpha=alpha))
    for side in (1, 2, 3, 5, 7, 13, 31, 225, 301):  # gamma^-2 shrinks 224 px down to one pixel
        configs.append(dict(phi=-2.0, alpha=1.0, beta=1.0, gamma=(224 / side) ** 0.5) if side < 224
                       else dict(phi=1.0, alpha=1.0, beta=1.0, gamma=side / 224))
    configs += [dict(phi=scaling.highest_phi(1.5, 1.1, 1.15), alpha=1.5, num_classes=7),  # 16x deeper
                dict(phi=scaling.highest_phi(1.0, 2.0, 1.0), alpha=1.0, beta=2.0, gamma=1.0, num_classes=1),  # 16x wider
                dict(phi=-2.0, alpha=16.0, beta=16.0, gamma=1.0, num_classes=10),  # 1/256 of the depth and width
                dict(phi=1.0, alpha=2.7, beta=1.0, gamma=1.0), dict(phi=1.0, alpha=1.0, beta=2.37, gamma=1.0, num_classes=10)]
    return configs


@pytest.mark.parametrize("config", _count_configs(), ids=lambda c: "-".join(f"{k}={v:.12g}" for k, v in c.items()))
def test_counted_params_macs_and_activation_bytes_equal_analyze(config):
    config = scaling.config_for(**config)
    scaled = scaling.multipliers(config["phi"], config["alpha"], config["beta"], config["gamma"])
    layers, channels = scaling.stage_layers(scaled.depth), scaling.stage_channels(scaled.width)
    report = analyze("efficientnet", **config)
    assert report.input_shape == (1, 3, scaled.resolution, scaled.resolution)
    counted = (scaling.counted_params(layers, channels, config["num_classes"]),
               scaling.counted_macs(layers, channels, scaled.resolution, config["num_classes"]),
               scaling.counted_activation_bytes(layers, channels, scaled.resolution, config["num_classes"]))
    assert counted == (report.total_params, report.total_macs, report.activation_bytes)


def test_the_counts_cover_small_odd_resolutions_and_both_caps():
    sides = {scaling.multipliers(**{k: c[k] for k in ("phi", "alpha", "beta", "gamma") if k in c}).resolution
             for c in _count_configs()}
    assert {1, 2, 3, 5, 7, 13, 31, 225, 301} <= sides
    assert scaling.multipliers(scaling.highest_phi(1.5, 1.1, 1.15), 1.5).depth == pytest.approx(16)
    assert scaling.multipliers(scaling.highest_phi(1.0, 2.0, 1.0), 1.0, 2.0, 1.0).width == pytest.approx(16)


def test_curve_phis_keep_every_integer_phi_exactly():
    phis = scaling.curve_phis(-1.0, 7.0)
    assert len(phis) == 801 and phis[:3] == (-1.0, -0.99, -0.98) and phis[-1] == 7.0
    assert all(float(k) in set(phis) for k in range(-1, 8)) and phis == tuple(round(k * 0.01, 2) for k in range(-100, 701))
    assert scaling.curve_phis(-1.0, 7.0, 0.5) == tuple(k / 2 for k in range(-2, 15))
    assert scaling.curve_phis(0.005, 0.03) == (0.01, 0.02, 0.03)
    with pytest.raises(ValueError, match="multiple of 0.01"):
        scaling.curve_phis(0.0, 1.0, 0.005)


def test_exact_curve_is_analyze_point_for_point():
    phis = [-1.0, 0.0, 0.01, 0.5, 2.0, 2.75]
    assert scaling.exact_curve(phis=phis) == scaling.scaling_curve(phis=phis)  # configs, layers, counts: all of it
    bases = (1.35, 1.05, 1.3)
    assert scaling.exact_curve(*bases, phis=[0.0, 3.3]) == scaling.scaling_curve(*bases, phis=[0.0, 3.3])
    assert scaling.exact_curve(phis=[1.0])[0].config == scaling.config_for(1.0)
    # past the caps: left out, as scaling_curve leaves them out
    beyond = scaling.exact_curve(1.0, 1.0, 2.0, phis=[4.0, 5.0, 6.0])
    assert [(p.phi, p.resolution) for p in beyond] == [(4.0, 3584), (5.0, 7168)]
    with pytest.raises(InvalidOptionError):
        scaling.exact_curve(0.9, phis=[0.0])


def test_exact_curve_is_dense_fast_and_shows_the_depth_steps():
    phis = scaling.curve_phis(-1.0, 7.0)
    start = time.perf_counter()
    points = scaling.exact_curve(phis=phis)
    elapsed = time.perf_counter() - start
    print(f"exact_curve: {len(points)} points in {elapsed * 1000:.1f} ms")  # reported, not asserted
    assert [p.phi for p in points] == list(phis)
    at = {p.phi: p for p in points}
    assert at[0.01].macs / at[0.0].macs >= 1.4  # the first depth step, just above phi=0 (+47.6 %)
    assert at[0.0].macs == 385_814_752 and at[0.0].params == 5_288_548
    steps = scaling.depth_steps(scaling.ALPHA, -1.0, 7.0)
    for left, right in zip(points, points[1:]):
        # with every base above 1, nothing shrinks as phi grows: the curve never falls
        assert right.macs >= left.macs and right.params >= left.params
        across = [step for step in steps if left.phi <= step.phi < right.phi]
        # the layers change exactly across a depth step, and the big jumps are the depth steps
        assert (left.layers != right.layers) == bool(across), (left.phi, right.phi)
        if right.macs > 1.2 * left.macs:
            assert across, (left.phi, right.phi)


@pytest.mark.parametrize("bases", [(1.35, 1.05, 1.3), (2.0, 1.0, 1.0), (1.0, 2.0, 1.0), (1.0, 1.0, 2.0), (1.9, 1.9, 1.9)])
def test_exact_curve_never_falls_and_stops_at_the_caps(bases):
    points = scaling.exact_curve(*bases, phis=scaling.curve_phis(-1.0, 7.0))
    assert points and points[-1].phi <= scaling.highest_phi(*bases)
    assert all(scaling.within_caps(p.phi, *bases) for p in points)
    assert all(b.macs >= a.macs and b.params >= a.params for a, b in zip(points, points[1:]))


@pytest.mark.parametrize("phi", [1.0, 3.0])
def test_single_dimension_matches_the_compound_macs_changing_one_dimension(phi):
    compound, depth, width, resolution = scaling.single_dimension(phi)
    assert [n.label for n in (compound, depth, width, resolution)] == \
        ["compound", "depth only", "width only", "resolution only"]
    target = analyze("efficientnet", phi=phi).total_macs
    assert compound.macs == compound.target_macs == target and compound.gap == 0
    for network in (depth, width, resolution):
        report = analyze("efficientnet", **network.config)
        assert (network.params, network.macs, network.activation_bytes) == \
            (report.total_params, report.total_macs, report.activation_bytes)
        assert network.target_macs == target and network.note is None
        assert abs(network.gap) <= 0.05 and network.gap == pytest.approx(network.macs / target - 1)
    b0_layers, b0_channels = scaling.stage_layers(1.0), scaling.stage_channels(1.0)
    assert (depth.width_mult, depth.resolution) == (1.0, 224) and depth.depth_mult > 1
    assert (width.depth_mult, width.resolution) == (1.0, 224) and width.width_mult > 1
    assert (resolution.depth_mult, resolution.width_mult) == (1.0, 1.0) and resolution.resolution > 224
    assert scaling.stage_channels(depth.width_mult) == b0_channels
    assert scaling.stage_layers(width.depth_mult) == b0_layers
    # whole pixels: the resolution found is the nearest, neither neighbour comes closer
    for side in (resolution.resolution - 1, resolution.resolution + 1):
        neighbour = analyze("efficientnet", phi=1.0, alpha=1.0, beta=1.0, gamma=side / 224).total_macs
        assert abs(neighbour - target) >= abs(resolution.macs - target)


def test_single_dimension_says_when_a_dimension_cannot_reach_the_target():
    compound, depth, width, resolution = scaling.single_dimension(7.0)
    assert depth.depth_mult == MAX_MULTIPLIER and depth.macs < compound.macs
    assert depth.note.startswith("Scaling the depth alone cannot reach") and depth.note.count(". ") == 0
    assert width.note is None and resolution.note is None
    smaller = scaling.single_dimension(-2.0)
    assert all(n.note is None and abs(n.gap) <= 0.05 for n in smaller)
    assert smaller[1].depth_mult < 1 and smaller[2].width_mult < 1 and smaller[3].resolution < 224


def test_paper_figures_are_cited_only_for_the_papers_own_networks():
    rows = {(f.network, f.scaling, f.source): f for f in scaling.PAPER_FIGURES}
    assert rows["EfficientNet-B0", "depth", "Table 7"].top1 == 79.0
    assert rows["MobileNetV2", "depth", "Table 3"].citation() == \
        "76.8 % top-1 for MobileNetV2 scaled by depth (d=4) at 1.2B FLOPS (Tan and Le 2019, Table 3)"
    assert rows["EfficientNet-B7", "compound", "Table 2"].gflops == 37.0
    points = scaling.paper_points()
    assert [n.label for n in points] == ["B0", "depth only", "width only", "resolution only", "compound"]
    assert [n.resolution for n in points] == [224, 224, 224, 448, 291]
    assert all(n.paper_accuracy and "Table 7" in n.paper_accuracy for n in points)
    assert points[1].depth_mult == 4.0 and scaling.stage_layers(4.0)[1:8] == [4, 8, 8, 12, 12, 16, 4]
    # phi=2 is d=1.44, w=1.21, r=296/224: Table 7's compound row at the paper's precision; phi=1 is no row
    assert "81.1 %" in scaling.single_dimension(2.0)[0].paper_accuracy
    assert all(n.paper_accuracy is None for n in scaling.single_dimension(1.0))
