"""One timing loop for the Cost lab and latency: exactly the passes it counts, the time limit, one run per device."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch import nn

from explorer import budget, timing
from explorer.budget import BudgetError
from explorer.costs import BLOCKS, WARMUP_RUNS, inception, measure, separable
from explorer.costs import timing as cost_timing
from explorer.latency import latency_cost, measure_latency
from explorer.units import human_seconds
from explorer.zoo import build


def _counting_variants(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Return {variant: [passes]} for the real modules measure() builds from now on, counted by a forward hook
    (the memory prediction's pass on the meta device left out)."""
    calls: dict[str, list[int]] = {}
    real = cost_timing.build_variant

    def build_counted(variant, bias: bool = False) -> nn.Module:
        module = real(variant, bias)
        count = calls.setdefault(variant.name, [0])

        def hook(_: nn.Module, args: tuple[torch.Tensor]) -> None:
            if args[0].device.type != "meta":
                count[0] += 1

        module.register_forward_pre_hook(hook)
        return module

    monkeypatch.setattr(cost_timing, "build_variant", build_counted)
    return calls


# blocks shorter than any pass are one pass each; blocks of several passes: time_runs with sleeping modules below
@pytest.mark.parametrize("comparison, block_seconds", [(separable(), 1e-9), (inception(), 1e-9)])
def test_the_cost_lab_runs_exactly_the_passes_it_counts(monkeypatch, comparison, block_seconds):
    """Timer.timeit(n) ran two untimed passes before its n: 27 passes per variant where 9 were counted."""
    calls = _counting_variants(monkeypatch)
    steps: list[tuple[str, dict[str, int]]] = []  # (progress text, passes so far) after every warm-up pass and block
    measure(comparison, batch=1, block_seconds=block_seconds,
            progress=lambda _, text: steps.append((text, {name: count[0] for name, count in calls.items()})))
    for name in comparison.variants:
        mine = [(text, passes[name]) for text, passes in steps if text.startswith(f"{name}:")]
        added = [after - before for (_, before), (_, after) in zip([("", 0)] + mine, mine)]
        warmup, blocks = added[:WARMUP_RUNS], added[WARMUP_RUNS:]
        assert warmup == [1] * WARMUP_RUNS and len(blocks) == BLOCKS
        assert len(set(blocks)) == 1  # the same number of passes in every block
        assert calls[name][0] == WARMUP_RUNS + sum(blocks), (name, added)
        if block_seconds < 1e-6:  # a block shorter than any pass is one pass
            assert calls[name][0] == WARMUP_RUNS + BLOCKS


class _Sleeping(nn.Module):
    """A real module whose pass takes ``seconds`` and is counted."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds, self.passes = seconds, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.passes += 1
        time.sleep(self.seconds)
        return x


def test_time_runs_blocks_take_about_block_seconds_and_come_back_in_order():
    runs = {"slow": _Sleeping(0.004), "fast": _Sleeping(0.001)}
    x = torch.zeros(1)
    timings = timing.time_runs(lambda: {k: (m, x) for k, m in runs.items()}, "cpu", {"slow": 0.004, "fast": 0.001},
                               0, "advice", block_seconds=0.01)
    assert list(timings) == ["slow", "fast"] and all(t.runs == BLOCKS for t in timings.values())
    assert timings["slow"].median > timings["fast"].median >= 0.001
    assert runs["slow"].passes < runs["fast"].passes <= WARMUP_RUNS + BLOCKS * 10


def test_passes_slower_than_predicted_stop_the_run_in_one_sentence(monkeypatch):
    monkeypatch.setenv(budget.TIME_ENV, "1")
    first, second = _Sleeping(0.15), _Sleeping(0.0)
    x = torch.zeros(1)
    with pytest.raises(BudgetError) as refused:
        # predicted 1 ms a pass; the first run measures 150 ms, so the second is taken to be 150x its prediction
        timing.time_runs(lambda: {1: (first, x), 2: (second, x)}, "cpu", {1: 0.001, 2: 0.01}, 0,
                         "use a smaller batch")
    message = str(refused.value)
    assert message.startswith("One pass took 15") and message.endswith("limit of 1.0 s; use a smaller batch.")
    assert first.passes == 1 and second.passes == 0 and budget.reserved_bytes() == 0
    assert not timing.device_lock("cpu").locked()


def test_a_cost_lab_timing_waits_for_a_latency_run_on_the_same_device(monkeypatch):
    monkeypatch.setattr(timing, "WAIT_SECONDS", 0.1)
    with timing.device_lock("cpu"):  # another session's latency run
        with pytest.raises(BudgetError, match="^The server is busy timing another network on this device; try"):
            measure(separable(), batch=1, block_seconds=0.002)
    assert budget.reserved_bytes() == 0

    order: list[str] = []  # which timing ran each pass, both started at once
    lenet = build("lenet5").eval()
    lenet.register_forward_pre_hook(lambda *_: order.append("latency"))
    monkeypatch.setattr(cost_timing, "build_variant", lambda variant, bias=False: _tagged(variant, order))
    threads = [threading.Thread(target=lambda: measure_latency(lenet, latency_cost("lenet5"), [1], "cpu",
                                                               block_seconds=0.002)),
               threading.Thread(target=lambda: measure(separable(), batch=1, block_seconds=0.002))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    changes = sum(a != b for a, b in zip(order, order[1:]))
    assert set(order) == {"latency", "cost lab"} and changes == 1, order  # one after the other, never interleaved


def _tagged(variant, order: list[str]) -> nn.Module:
    module = cost_timing._VariantModule(variant, False).eval()
    module.register_forward_pre_hook(lambda _, args: None if args[0].is_meta else order.append("cost lab"))
    return module


def test_seconds_per_pass_runs_exactly_number_passes():
    module = _Sleeping(0.0)
    assert timing.seconds_per_pass(module, torch.zeros(1), 5, timing.clock("cpu")) >= 0
    assert module.passes == 5


@pytest.mark.parametrize("seconds, words", [(0.0304, "30.4 ms"), (0.5, "500 ms"), (7.46, "7.5 s"), (75.2, "75 s")])
def test_seconds_are_worded_for_people(seconds, words):
    assert human_seconds(seconds) == words
