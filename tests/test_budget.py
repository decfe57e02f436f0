"""The resource budget: predictions against measured memory, refusals before allocation, reservations, settings."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import torch
from torch import nn

from explorer import budget
from explorer.analysis import analyze
from explorer.budget import BudgetError, ForwardCost, live_peak_bytes, network_cost, require, running
from explorer.units import human_bytes
from explorer.weights import WeightSource, load_model
from helpers import ROOT

CASES = [("resnet18", 8), ("mobilenet_v2", 8), ("efficientnet_b0", 4), ("vgg11", 2), ("vit_b_16", 2)]
MEASURE = """
import json, os, sys, torch
sys.path.insert(0, {root!r})
from explorer.zoo import build, get_spec
def rss(key):
    return int(open("/proc/self/status").read().split(key + ":")[1].split()[0]) * 1024
peaks = {{}}
# each in a forked child, so no model reuses memory another one freed; the parent runs no op, because
# a child forked after OpenMP started its threads would hang
for name, batch in {cases!r}:
    spec = get_spec(name)
    shape = spec.default_input_shape(spec.resolve_config({{}}))
    read, write = os.pipe()
    if os.fork() == 0:
        torch.set_num_threads(2)
        with torch.inference_mode():  # first use of the kernels' libraries, not part of any one model
            torch.nn.functional.conv2d(torch.ones(1, 8, 32, 32), torch.ones(8, 8, 3, 3))
        open("/proc/self/clear_refs", "w").write("5")  # resets the peak (VmHWM) to the current size
        before = rss("VmRSS")
        model = build(name).eval()
        with torch.inference_mode():
            model(torch.randn(batch, *shape))
        os.write(write, str(rss("VmHWM") - before).encode())
        os._exit(0)
    os.close(write)
    peaks[name] = int(os.read(read, 64))
    os.wait()
print(json.dumps(peaks))
"""


@pytest.fixture(scope="module")
def measured_peaks() -> dict[str, int]:
    """Return the peak resident bytes a fresh process adds to build each network and run one batch."""
    done = subprocess.run([sys.executable, "-c", MEASURE.format(root=str(ROOT), cases=CASES)],
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name, batch", CASES)
def test_prediction_covers_the_measured_peak_without_wild_overestimates(name, batch, measured_peaks):
    predicted = network_cost(name).total_bytes(batch)
    measured = measured_peaks[name]
    assert measured <= predicted, f"{name}: measured {human_bytes(measured)} > predicted {human_bytes(predicted)}"
    assert predicted <= 3 * measured + 64 * 2**20, f"{name}: {human_bytes(predicted)} for {human_bytes(measured)}"


def test_live_peak_follows_tensor_lifetimes_exactly():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    with torch.device("meta"):
        meta = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    # while the ReLU runs, the first conv's output (8x32x32 floats) and its own are alive; plus the input
    expected = 2 * 8 * 32 * 32 * 4 + 3 * 32 * 32 * 4
    assert live_peak_bytes(meta, (3, 32, 32), 1) == expected
    assert live_peak_bytes(model.to("meta"), (3, 32, 32), 2) == 2 * expected
    # a transposed weight is a view of the weight, counted with the weights, not as an activation
    linear = nn.Linear(1000, 1000, device="meta")
    assert live_peak_bytes(linear, (1000,), 1) == 2 * 1000 * 4


def test_a_link_to_a_huge_network_is_refused_before_anything_is_allocated():
    """Issue 11: /feature_maps?arch=regnet_y_128gf&num_classes=100000 held 6 GB for 20 s."""
    def rss() -> int:
        return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024

    before, start = rss(), time.perf_counter()
    with pytest.raises(BudgetError) as refused:
        load_model("regnet_y_128gf", {"num_classes": 100000}, WeightSource.RANDOM)
    seconds, grown = time.perf_counter() - start, rss() - before
    message = str(refused.value)
    cost = network_cost("regnet_y_128gf", {"num_classes": 100000})
    report = analyze("regnet_y_128gf", None, num_classes=100000)
    assert cost.parameter_bytes == report.param_bytes + report.buffer_bytes > 5 * 2**30
    assert human_bytes(cost.total_bytes(1)) in message and "budget of 2.00 GiB" in message
    # fewer classes would not help: regnet_y_128gf's default weights alone are 2.4 GB
    assert message.count(". ") == 0 and message.endswith("; pick a smaller network.")
    assert seconds < 10 and grown < 300 * 2**20, (seconds, human_bytes(grown))


def test_fewer_classes_are_advised_only_where_they_would_fit():
    with pytest.raises(BudgetError, match=r"; use fewer classes \(1000 fit\) or a smaller network\.$"):
        load_model("vgg16", {"num_classes": 100000}, WeightSource.RANDOM)
    with pytest.raises(BudgetError, match=r"; pick a smaller network\.$"):
        load_model("regnet_y_128gf", {"num_classes": 10}, WeightSource.RANDOM)


@pytest.mark.parametrize("name", ["vit_h_14", "regnet_y_128gf"])
def test_the_largest_torchvision_networks_exceed_the_default_budget(name):
    with pytest.raises(BudgetError, match="more than this server's budget of 2.00 GiB"):
        require(network_cost(name))


def test_the_budget_is_a_setting(monkeypatch):
    assert budget.limits() == budget.Limits(2 * 2**30, 2 * 2**30, 60.0, 600.0, 2**30)
    monkeypatch.setenv(budget.MEMORY_ENV, "8192")
    monkeypatch.setenv(budget.TIME_ENV, "5")
    monkeypatch.setenv(budget.TRAINING_TIME_ENV, "30")
    monkeypatch.setenv(budget.WORK_CACHE_ENV, "0")
    assert budget.limits() == budget.Limits(8 * 2**30, 2 * 2**30, 5.0, 30.0, 0)
    require(network_cost("vit_h_14"))  # fits an 8 GB budget
    for bad in ("lots", "0", "1e9", "-5"):
        monkeypatch.setenv(budget.MEMORY_ENV, bad)
        with pytest.raises(BudgetError, match=f"^The setting {budget.MEMORY_ENV} must be"):
            budget.limits()


def test_largest_batch_fits_and_one_more_does_not():
    cost = network_cost("resnet18")
    for memory in (2**28, 2**30, 2**31):
        batch = cost.largest_batch(memory)
        assert cost.total_bytes(batch) <= memory < cost.total_bytes(batch + 1)
    assert ForwardCost("x", 2**30, 0, 1).largest_batch(2**29) == 0


def test_reservations_make_concurrent_computations_wait_their_turn(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, "100")
    inside, most = [0], [0]
    lock = threading.Lock()

    def work() -> None:
        with running(40 * 2**20):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2 and budget.reserved_bytes() == 0  # two of 40 MB fit in 100 MB, never three


def test_a_busy_server_says_so_instead_of_waiting_forever(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, "100")
    with running(80 * 2**20):
        with pytest.raises(BudgetError, match="^The server is busy"):
            with running(40 * 2**20, wait_seconds=0.1):
                pass
    with running(200 * 2**20):  # larger than the budget, but alone: it runs
        assert budget.reserved_bytes() == 200 * 2**20
    assert budget.reserved_bytes() == 0


def test_an_allocation_the_device_refuses_becomes_a_sentence():
    """Issue 11: the page showed "[enforce fail at alloc_cpu.cpp:127] ..." or "This app has encountered an error"."""
    with pytest.raises(BudgetError) as refused:
        with running(0):
            torch.empty(2**60, dtype=torch.uint8)
    assert str(refused.value) == ("The device ran out of memory for this computation; use a smaller network, input "
                                  "or batch.")
    assert budget.reserved_bytes() == 0
    with pytest.raises(RuntimeError, match="unrelated"):  # other errors pass through unchanged
        with running(0):
            raise RuntimeError("unrelated")


def test_throughput_is_measured_on_as_many_threads_as_the_passes_it_predicts(monkeypatch):
    """torch.utils.benchmark's Timer measured on one thread while every pass runs on all: 1.4x pessimistic."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Threads(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.seen: set[int] = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.seen.add(torch.get_num_threads())
            return func(*args, **(kwargs or {}))

    threads = torch.get_num_threads()
    monkeypatch.setattr(budget, "_THROUGHPUTS", {})
    try:
        torch.set_num_threads(2)
        with Threads() as mode:
            budget.throughput("cpu")
        assert mode.seen == {2}
        torch.set_num_threads(1)  # kept per thread count: one thread is measured again, on one thread
        with Threads() as mode:
            budget.throughput("cpu")
        assert mode.seen == {1} and set(budget._THROUGHPUTS) == {("cpu", 2), ("cpu", 1)}
    finally:
        torch.set_num_threads(threads)


def test_throughput_keeps_the_fastest_pace_measured(monkeypatch):
    """A measurement taken while other work held the cores must not slow every later prediction down."""
    paces = iter([budget.Throughput(10e9, 1e9), budget.Throughput(50e9, 4e9), budget.Throughput(20e9, 5e9)])
    monkeypatch.setattr(budget, "_THROUGHPUTS", {})
    monkeypatch.setattr(budget, "_measure_throughput", lambda device: next(paces))
    assert budget.throughput("cpu") == budget.Throughput(10e9, 1e9)  # the first, busy measurement
    assert budget.throughput("cpu") == budget.Throughput(10e9, 1e9)  # kept for a minute, not measured again
    monkeypatch.setattr(budget, "REMEASURE_SECONDS", 0.0)
    assert budget.throughput("cpu") == budget.Throughput(50e9, 4e9)  # measured again: faster, kept
    assert budget.throughput("cpu") == budget.Throughput(50e9, 5e9)  # a slower pass never slows it down
