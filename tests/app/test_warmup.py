"""The server's warm-up: what it imports and computes is what the pages need, and it fills the shared caches."""

from __future__ import annotations

import importlib

import pytest

from explorer.analysis import analyze
from explorer.ui import cache, warmup
from explorer.ui.network import ArchitectureChoice
from explorer.zoo import classics, get_spec


def test_the_pages_modules_are_read_from_their_imports_and_all_import():
    modules = warmup.page_modules()
    assert {"explorer.ui.scaling", "explorer.ui.compare", "explorer.ui.finetune", "explorer.charts",
            "explorer.augment"} <= set(modules)  # submodules imported by name count too
    for name in modules:
        importlib.import_module(name)


def test_warm_up_fills_the_analysis_cache_for_every_classic(monkeypatch):
    seconds = warmup.warm_up()
    assert set(seconds) == {what for what, _ in warmup.steps()}  # no step failed
    def refuse(*args, **kwargs):
        raise AssertionError("analyze() ran: the warm-up did not fill the cache")
    monkeypatch.setattr(cache, "analyze", refuse)
    for name in [*classics(), *warmup.EXTRA_NETWORKS]:
        report = cache.cached_analysis(ArchitectureChoice.with_defaults(get_spec(name)))
        assert report.total_macs == analyze(name).total_macs


def test_a_failing_step_is_skipped_and_the_rest_still_run(monkeypatch):
    def broken():
        raise RuntimeError("no")
    monkeypatch.setattr(warmup, "steps", lambda: [("broken", broken), ("fine", lambda: None)])
    assert list(warmup.warm_up()) == ["fine"]


@pytest.mark.parametrize("setting, started", [("0", False), ("1", True)])
def test_the_background_thread_starts_once_unless_turned_off(monkeypatch, setting, started):
    monkeypatch.setenv("CONVNET_EXPLORER_WARM_UP", setting)
    monkeypatch.setattr(warmup, "steps", lambda: [("fine", lambda: None)])
    thread = warmup.start_in_background()
    assert (thread is not None) == started
    assert warmup.start_in_background() is thread  # once per process
    if thread is not None:
        thread.join(timeout=30)
        assert not thread.is_alive() and thread.daemon


def test_the_warm_up_and_a_page_import_the_pages_modules_one_at_a_time():
    # A fresh server: the warm-up thread and a session's page both want torchvision. Importing it from two threads at
    # once stopped one with Python's import-deadlock error; now both wait for one import behind a lock.
    import subprocess
    import sys
    from pathlib import Path

    script = ("import sys, threading\n"
              "from explorer.ui import warmup\n"
              "assert 'torch' not in sys.modules\n"
              "errors = []\n"
              "def page():\n"
              "    try:\n"
              "        warmup.import_page_modules()\n"
              "        import explorer.ui.cache, explorer.zoo\n"
              "    except Exception as error:\n"
              "        errors.append(repr(error))\n"
              "threads = [threading.Thread(target=page) for _ in range(3)]\n"
              "[t.start() for t in threads]\n"
              "seconds = warmup.warm_up()\n"
              "[t.join() for t in threads]\n"
              "assert not errors, errors\n"
              "assert list(seconds)[0] == \"import the pages' modules\" and len(seconds) == len(warmup.steps())\n"
              "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]
