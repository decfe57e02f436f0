"""How other counters differ from ours, measured (README "What the numbers mean" quotes these).

Each test runs the other tool on a real CPU build and checks the difference we explain in README.
"""

from __future__ import annotations

import fvcore.nn
import pytest
import torch
import torchinfo
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explorer.analysis import analyze
from explorer.zoo import build

from helpers import analyzed


def _torchinfo_mult_adds(name: str) -> int:
    report = analyzed(name)
    return torchinfo.summary(build(name), input_size=report.input_shape, verbose=0).total_mult_adds


def test_torchinfo_adds_bias_and_normalisation_parameters_to_mult_adds():
    model = build("resnet50")
    extra = sum(module.bias.numel() + (module.weight.numel() if isinstance(module, nn.BatchNorm2d) else 0)
                for module in model.modules() if getattr(module, "bias", None) is not None)
    difference = _torchinfo_mult_adds("resnet50") - analyzed("resnet50").total_macs
    assert difference == extra == 54_120


@pytest.mark.parametrize("name, theirs, ours", [("convnext_tiny", 0.32, 4.46), ("vit_b_16", 0.17, 17.56)])
def test_torchinfo_counts_a_linear_on_tokens_once_per_sample(name, theirs, ours):
    # A Linear applied to every position of a 3-D or 4-D input costs positions x in x out MACs.
    assert round(_torchinfo_mult_adds(name) / 1e9, 2) == theirs
    assert round(analyzed(name).total_macs / 1e9, 2) == ours


def test_fvcore_has_no_handler_for_scaled_dot_product_attention():
    model = build("vit_b_16")
    counter = fvcore.nn.FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
    counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    path = "encoder.layers.encoder_layer_0.self_attention"
    theirs = counter.by_module()[path]  # fvcore counts one "flop" per multiply-accumulate
    ours = next(row.macs for row in analyzed("vit_b_16").layers if row.name == path)
    tokens, width = 197, 768
    assert (theirs, ours) == (464_781_312, 524_391_936)
    assert ours - theirs == 2 * tokens * tokens * width  # the QK^T and AV products


def test_flop_counter_mode_misses_fused_attention_under_no_grad_and_we_do_not():
    model = build("vit_b_16")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 3, 224, 224))
    assert round(counter.get_total_flops() / 2 / 1e9, 2) == 11.27
    # analyze() keeps MultiheadAttention off its fused fast path, on a real CPU module as on meta
    assert analyze(model, (3, 224, 224)).total_macs == analyzed("vit_b_16").total_macs == 17_563_828_224
    assert torch.backends.mha.get_fastpath_enabled()  # and puts the switch back
