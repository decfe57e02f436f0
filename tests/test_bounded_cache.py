"""The cache shared by sessions: bounded by bytes, least recently used first, one computation per key."""

from __future__ import annotations

import threading
import time

from explorer import budget
from explorer.bounded_cache import BoundedCache
from explorer.weights import WeightSource


def test_a_sequence_of_large_models_never_holds_more_than_the_bound(monkeypatch):
    """Issue 11: max_entries=8 let eight multi-GB models in; now the weight bytes are bounded."""
    from explorer.ui.cache import MODELS, cached_model
    from explorer.ui.network import ArchitectureChoice
    from explorer.ui.widgets import WeightsChoice
    from explorer.zoo import get_spec

    monkeypatch.setenv(budget.MODEL_CACHE_ENV, "200")
    MODELS.clear()
    sizes = {}
    for name in ("resnet50", "resnet34", "resnet18", "resnet50", "mobilenet_v2", "resnet18"):
        choice = ArchitectureChoice.with_defaults(get_spec(name))
        random = WeightsChoice(WeightSource.RANDOM)
        loaded = cached_model(choice, random, "cpu")
        sizes[name] = loaded.cost.parameter_bytes
        assert MODELS.total_bytes() <= 200 * 2**20
        assert loaded.model is cached_model(choice, random, "cpu").model or sizes[name] > 200 * 2**20
    kept = [key[0] for key in MODELS.keys()]
    # resnet50 (98 MB) came back after resnet34 and resnet18: the least recently used went first
    assert kept[-1] == "resnet18" and "resnet34" not in kept
    assert sum(sizes[name] for name in kept) == MODELS.total_bytes()
    MODELS.clear()


def test_least_recently_used_go_first_and_oversized_values_are_not_kept():
    cache: BoundedCache[str] = BoundedCache(lambda: 100)
    for key, size in (("a", 40), ("b", 40), ("a", 40), ("c", 40)):
        assert cache.get(key, lambda key=key: key.upper(), size) == key.upper()
    assert cache.keys() == ["a", "c"] and cache.total_bytes() == 80
    assert cache.get("huge", lambda: "H", 101) == "H" and "huge" not in cache.keys()


def test_many_sessions_asking_for_one_key_compute_it_once():
    cache: BoundedCache[int] = BoundedCache(lambda: 10)
    calls = []

    def load() -> int:
        calls.append(1)
        time.sleep(0.1)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", load, 1))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8 and len(calls) == 1


def test_errors_are_not_cached():
    cache: BoundedCache[int] = BoundedCache(lambda: 10)
    attempts = []

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first time")
        return 7

    try:
        cache.get("k", flaky, 1)
    except ValueError:
        pass
    assert cache.get("k", flaky, 1) == 7 and len(attempts) == 2
