"""Issue 13: measured latency of whole networks at batch 1 and a chosen batch, within the budget, cached."""

from __future__ import annotations

import gc
import time
import weakref
from dataclasses import replace

import pytest
import torch

from explorer import budget
from explorer.budget import BudgetError
from explorer.costs import BLOCKS, WARMUP_RUNS
from explorer.errors import InvalidOptionError
from explorer.latency import (
    RANDOM_WEIGHTS_NOTE, cached_latency, check_latency, kept_latency, latency_cost, measure_latency,
    predict_latency_seconds,
)
from explorer.timing import device_lock
from explorer.weights import WeightSource, load_model
from explorer.zoo import build

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _counting(model: torch.nn.Module) -> list[int]:
    """Return a list whose one number counts the model's forward passes from now on (a real hook, no mock)."""
    calls = [0]
    model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def _one_sentence(message: str) -> bool:
    return message.count(". ") == 0 and message.endswith(".") and "\n" not in message


@pytest.fixture
def one_thread():
    """Run the CPU's passes on one thread while a test compares wall times.

    Tests share this 2-core machine with other test processes; two OpenMP threads that wait for each other while
    one is descheduled made ResNet-18 at batch 1 take 928 ms instead of 14 ms, and more than at batch 4.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("device", DEVICES)
def test_resnet18_at_batch_4_takes_longer_than_at_batch_1_within_the_reserved_memory(device, one_thread):
    cost = latency_cost("resnet18")
    model = build("resnet18").to(device).eval()
    reserved: list[int] = []
    progress: list[tuple[float, str]] = []

    def report(fraction: float, text: str) -> None:
        reserved.append(budget.reserved_bytes())
        progress.append((fraction, text))

    timings = measure_latency(model, cost, [4, 1], device, report)
    assert list(timings) == [1, 4] and all(t.median > 0 and t.runs == BLOCKS for t in timings.values())
    assert timings[4].median > timings[1].median
    # the largest batch's activations and batch 1's input were reserved while it ran, and given back after
    assert set(reserved) == {cost.forward.activation_bytes(4) + 3 * 224 * 224 * 4} and budget.reserved_bytes() == 0
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(set(fractions)) == len(fractions)
    assert len(progress) == 2 * (WARMUP_RUNS + BLOCKS)
    assert progress[0][1] == f"batch 1: warm-up pass 1 of {WARMUP_RUNS}"
    assert progress[-1][1] == f"batch 4: block {BLOCKS} of {BLOCKS}"
    if device == "cpu":  # not so pessimistic that it refuses what would fit (a busy machine only measures slower)
        for batch, timing in timings.items():
            assert 0 < predict_latency_seconds(cost, batch, device) < 10 * timing.median


def test_the_model_is_run_as_given_and_not_kept():
    model = build("lenet5").eval()
    calls = _counting(model)
    before = [p.clone() for p in model.parameters()]
    measure_latency(model, latency_cost("lenet5"), [1, 2], "cpu", block_seconds=0.002)
    assert calls[0] >= 2 * (WARMUP_RUNS + BLOCKS) and not model.training
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    kept = weakref.ref(model)
    del model
    gc.collect()
    assert kept() is None


def test_vgg16_at_batch_512_is_refused_in_one_sentence_before_anything_is_allocated():
    def rss() -> int:
        return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024

    check_latency("vgg16", {}, None, [1], "cpu")  # the predictions and the throughput, once, outside the count
    fits = budget.network_cost("vgg16").largest_batch(budget.limits().memory_bytes)
    built: list[str] = []
    before, start = rss(), time.perf_counter()
    with pytest.raises(BudgetError) as refused:
        check_latency("vgg16", {}, None, [1, 512], "cpu")
    with pytest.raises(BudgetError):  # the page's path builds no model for it either
        cached_latency("vgg16", {}, None, [1, 512], "cpu", lambda: built.append("vgg16") or build("vgg16"))
    seconds, grown = time.perf_counter() - start, rss() - before
    message = str(refused.value)
    assert message.startswith("VGG-16 on a batch of 512 would need about ") and "budget of 2.00 GiB" in message
    assert 1 <= fits < 512 and message.endswith(f"; use a batch of at most {fits}.") and _one_sentence(message)
    assert not built and seconds < 2 and grown < 50 * 2**20, (seconds, grown)


def test_a_tiny_time_limit_refuses_before_any_pass(monkeypatch):
    monkeypatch.setenv(budget.TIME_ENV, "1")
    model = build("resnet18").eval()
    calls, progress = _counting(model), []
    with pytest.raises(BudgetError) as refused:
        check_latency("resnet18", {}, None, [1, 64], "cpu")
    message = str(refused.value)
    assert message.startswith("Timing ResNet-18 at batches 1 and 64 would take about ")
    assert message.endswith(", more than this server's limit of 1.0 s; use a smaller batch or a smaller network.")
    assert _one_sentence(message)
    with pytest.raises(BudgetError, match="^Timing ResNet-18 at batches 1 and 64 would take"):
        measure_latency(model, latency_cost("resnet18"), [1, 64], "cpu", lambda f, t: progress.append(f))
    assert calls[0] == 0 and progress == [] and budget.reserved_bytes() == 0


def test_passes_slower_than_predicted_stop_the_run_after_the_first(monkeypatch):
    """A prediction that is far too low (here made so) cannot make a run outlast the limit."""
    monkeypatch.setenv(budget.TIME_ENV, "1")
    optimistic = replace(latency_cost("resnet18"), traffic_bytes_per_sample=0)
    optimistic = replace(optimistic, forward=replace(optimistic.forward, macs_per_sample=1, parameter_bytes=0))
    model = build("resnet18").eval()
    calls = _counting(model)
    start = time.perf_counter()
    with pytest.raises(BudgetError) as refused:
        measure_latency(model, optimistic, [1, 16], "cpu")
    assert str(refused.value).startswith("One pass took ") and _one_sentence(str(refused.value))
    assert calls[0] <= WARMUP_RUNS + 1 and time.perf_counter() - start < 5 and budget.reserved_bytes() == 0


@pytest.mark.parametrize("batches, message", [
    ([0], "A batch size must be a whole number of at least 1, not 0."),
    ([1, -3], "A batch size must be a whole number of at least 1, not -3."),
    ([1, 2.5], "A batch size must be a whole number of at least 1, not 2.5."),
    ([], "Choose at least one batch size to time."),
])
def test_a_bad_batch_is_one_sentence(batches, message):
    with pytest.raises(InvalidOptionError) as refused:
        check_latency("lenet5", {}, None, batches, "cpu")
    assert str(refused.value) == message and _one_sentence(message)
    with pytest.raises(InvalidOptionError, match=f"^{message}$".replace(".", r"\.")):
        measure_latency(build("lenet5").eval(), latency_cost("lenet5"), batches, "cpu")


def test_timings_are_kept_per_batch_and_only_new_batches_are_measured():
    options = {"num_classes": 7}  # a key no other test uses
    built, progress = [], []

    def model() -> torch.nn.Module:
        built.append(1)
        return build("lenet5", **options).eval()

    first = cached_latency("lenet5", options, None, [1, 2], "cpu", model)
    assert cached_latency("lenet5", options, None, [2, 1], "cpu", model) == first and len(built) == 1
    third = cached_latency("lenet5", options, None, [1, 3], "cpu", model, lambda f, t: progress.append(t))
    assert third[1] == first[1] and third[3].median > 0 and len(built) == 2
    assert len(progress) == WARMUP_RUNS + BLOCKS and all(t.startswith("batch 3:") for t in progress)


def test_kept_timings_are_shown_without_measuring_or_building_anything():
    options = {"num_classes": 9}  # a key no other test uses
    built: list[int] = []

    def model() -> torch.nn.Module:
        built.append(1)
        return build("lenet5", **options).eval()

    assert kept_latency("lenet5", options, None, [1, 2], "cpu") == {}
    measured = cached_latency("lenet5", options, None, [2], "cpu", model)
    assert kept_latency("lenet5", options, None, [2, 1], "cpu") == measured  # batch 1 was never measured
    assert kept_latency("lenet5", options, (1, 32, 32), [2], "cpu") == measured  # the default input, spelt out
    assert kept_latency("lenet5", options, None, [2], "cuda:7") == {}  # kept per device
    assert kept_latency("lenet5", {"num_classes": 0}, None, [2], "cpu") == {}  # nothing for what cannot run
    assert kept_latency("no_such_network", {}, None, [1], "cpu") == {}
    both = cached_latency("lenet5", options, None, [1, 2], "cpu", model)
    assert kept_latency("lenet5", options, None, [2, 1], "cpu") == both and list(both) == [1, 2]
    assert len(built) == 2  # one model per cached_latency that measured, none for a peek


def test_one_latency_run_at_a_time_per_device(monkeypatch):
    monkeypatch.setattr("explorer.timing.WAIT_SECONDS", 0.1)
    lock = device_lock("cpu")
    with lock:  # another session's run
        with pytest.raises(BudgetError, match="^The server is busy timing another network on this device; try"):
            measure_latency(build("lenet5").eval(), latency_cost("lenet5"), [1], "cpu")
    assert not lock.locked() and budget.reserved_bytes() == 0


def _cpu_seconds(model: torch.nn.Module, x: torch.Tensor, passes: int = 4) -> float:
    """Return the CPU seconds of one pass on this thread: unlike wall time, other programs on the machine
    (a busy shared server, a parallel test run) do not change it."""
    with torch.inference_mode():
        model(x)
        start = time.thread_time()
        for _ in range(passes):
            model(x)
        return (time.thread_time() - start) / passes


def test_random_weights_time_the_same_as_trained_ones(one_thread):
    """RANDOM_WEIGHTS_NOTE, with the bundled LeNet-5 trained on digits against random LeNet-5s, at two batches.

    (Not "whatever the values": a ResNet-18 whose weights are all 0 ran 10-15% faster on this AMD EPYC, though a
    convolution or a matrix product of zeros did not; no trained network has such weights.)
    """
    assert RANDOM_WEIGHTS_NOTE.startswith("Random weights time the same as trained ones: ")
    assert _one_sentence(RANDOM_WEIGHTS_NOTE)
    trained = load_model("lenet5", {}, WeightSource.BUNDLED).model
    for batch in (16, 256):  # one thread (the fixture) does all the work, where thread_time sees it
        random = build("lenet5").eval()
        x = torch.randn(batch, *latency_cost("lenet5").input_shape)
        seconds: dict[int, list[float]] = {id(random): [], id(trained): []}
        for _ in range(3):  # taking turns; the least of three each
            for m in (random, trained):
                seconds[id(m)].append(_cpu_seconds(m, x))
        ratio = min(seconds[id(trained)]) / min(seconds[id(random)])
        assert 0.8 < ratio < 1.25, (batch, ratio)
