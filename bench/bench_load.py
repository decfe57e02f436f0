"""Many people at once: N browser sessions load Feature maps together, then all change the capture point.

Starts its own `streamlit run app.py` (headless, file watcher off, free port), warms it up with one visit to
Home (so the first load does not include importing torch), then drives N Playwright contexts in ONE headless
Chromium concurrently (asyncio.gather):

- first load: every session opens /feature_maps?arch=NET at the same moment (2 sessions per network with the
  default 12 sessions and 6 networks; random weights, the default weight source; the page's default capture
  point, the first conv).
- change point: every session types another capture point into "Layer or branch point" (each session of a
  network its own point), then all press Enter at the same moment.

A session is settled when the script is no longer running (stApp's data-test-script-state is notRunning, no
stale element left) and its caption "Forward pass on cpu: ... Output of POINT: SHAPE." names ITS OWN point and
output shape while the Architecture picker shows ITS OWN network. Settled content that names another network
or point for 10 s is counted as cross-talk (a picker not drawn yet is waited for). Errors: exception boxes, "This app has encountered an error",
timeouts, cross-talk, JavaScript page errors. The server's RSS (children included) is sampled every 0.1 s.

Prints: phase | sessions | p50 s | p95 s | max s | errors, then RSS before / peak / after in MB.
With --profile [FILE] the server runs under cProfile, one profiler per thread (Streamlit runs each script
in its own thread, which `python -m cProfile` would not see), merged into FILE when the server is stopped
with SIGINT; the top functions of the app, torch and the other libraries are printed.

A benchmark, not a test: the figures are noisy on a shared machine. Exits 1 when any error was seen.

Run: .venv/bin/python bench/bench_load.py [--sessions 12] [--networks a,b,...] [--port P] [--profile [FILE]]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PROFILE_FLAG = "--_serve-profiled"  # internal: this file is the profiled server's launcher

# network -> [(capture point label, output shape)]: [0] the page's default point (first conv), [1:] the points
# sessions switch to (session k of a network takes [1 + k % 2]); labels as explorer.activations.capture_points
# writes them, shapes for the default sample image (cat, or digit 3 for one-channel networks).
POINTS: dict[str, list[tuple[str, str]]] = {
    "lenet5_1998": [("c1.conv (Conv2d)", "6x28x28"), ("c3.conv (PartialConv2d)", "16x10x10"),
                    ("s4.subsample (Subsampling)", "16x5x5")],
    "alexnet": [("features.0 (Conv2d)", "64x55x55"), ("features.3 (Conv2d)", "192x27x27"),
                ("features.12 (MaxPool2d)", "256x6x6")],
    "vgg16": [("features.0 (Conv2d)", "64x224x224"), ("features.28 (Conv2d)", "512x14x14"),
              ("features.16 (MaxPool2d)", "256x28x28")],
    "resnet18": [("conv1 (Conv2d)", "64x112x112"),
                 ("layer2.0 — residual + shortcut, before the final ReLU", "128x28x28"),
                 ("layer3.1.conv2 (Conv2d)", "256x14x14")],
    "mobilenet_v2": [("features.0.0 (Conv2d)", "32x112x112"),
                     ("features.3 (InvertedResidual) — output = input + block (residual sum)", "24x56x56"),
                     ("features.7.conv.1 (Conv2dNormActivation) — depthwise 3x3", "192x14x14")],
    "googlenet": [("conv1.conv (Conv2d)", "64x112x112"),
                  ("inception3a (Inception) — concatenation of the branches", "256x28x28"),
                  ("inception4c.branch2 (Sequential) — branch", "256x14x14")],
}
DEFAULT_NETWORKS = list(POINTS)
POLL_S = 0.25
CONFIRM_S = 0.3
CROSSTALK_S = 10.0

# One round trip per poll: script state, stale elements, the forward-pass caption, the picked network, errors.
PROBE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const all = (sel) => main ? [...main.querySelectorAll(sel)] : [];
  const caption = all('[data-testid="stCaptionContainer"]').map(e => e.textContent)
      .find(t => t.includes('Forward pass on')) || null;
  const arch = all('[data-testid="stSelectbox"]').find(e => {
    const label = e.querySelector('[data-testid="stWidgetLabel"]');
    return (label ? label.textContent : e.textContent).trim().startsWith('Architecture');
  });
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    connection: app ? app.getAttribute('data-test-connection-state') : null,
    stale: document.querySelectorAll('[data-stale="true"]').length,
    caption: caption,
    arch: arch ? [arch.textContent, ...[...arch.querySelectorAll('input')].map(i => i.value)].join(' ') : null,
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.textContent.slice(0, 300)),
    appError: document.body ? document.body.textContent.includes('This app has encountered an error') : false,
  };
}"""


@dataclass
class Session:
    index: int
    arch: str
    first: tuple[str, str | None]  # (label, shape or None when unknown)
    change: tuple[str, str | None]
    errors: list[str] = field(default_factory=list)
    times: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        return f"session {self.index} ({self.arch})"


# ---------------------------------------------------------------- the server and its memory


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, profile: Path | None, log: Path, clock: str = "wall") -> subprocess.Popen:
    streamlit_args = ["run", "app.py", "--server.headless", "true", "--server.port", str(port),
                      "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                      "--server.fileWatcherType", "none"]
    if profile is None:
        command = [sys.executable, "-m", "streamlit", *streamlit_args]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), PROFILE_FLAG, str(profile), clock,
                   *streamlit_args]
    with log.open("w") as handle:
        return subprocess.Popen(command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def wait_healthy(process: subprocess.Popen, url: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}; see {log}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s; see {log}")
        time.sleep(0.5)


def stop_server(process: subprocess.Popen, graceful: bool) -> None:
    """SIGINT (so a profiled server writes its profile) or SIGTERM; SIGKILL if it does not exit."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT if graceful else signal.SIGTERM)
    try:
        process.wait(timeout=60 if graceful else 20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(child) for child in handle.read().split()]
        except OSError:
            pass
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            process = psutil.Process(pid)
            return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
        except psutil.Error:
            return 0
    total = 0
    for each in _descendants(pid):
        try:
            with open(f"/proc/{each}/status") as handle:
                match = re.search(r"^VmRSS:\s+(\d+) kB", handle.read(), re.M)
            total += int(match.group(1)) * 1024 if match else 0
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the live processes ``pids`` have used (from /proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Samples the server's RSS every ``interval`` s; ``mark(name)`` starts a named span for peaks.

    Each mark also notes the CPU seconds used so far by the server and by the rest of this process's
    children (Chromium and Playwright's driver), which share this machine's cores with the server.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, str]] = []
        self.cpu: dict[str, tuple[float, float, float]] = {}  # span -> (monotonic, server s, browser s)
        self.span = "start"
        self.stopped = threading.Event()

    def mark(self, span: str) -> int:
        self.span = span
        value = rss_bytes(self.pid)
        self.samples.append((time.monotonic(), value, span))
        server = _descendants(self.pid)
        browser = [pid for pid in _descendants(os.getpid()) if pid not in server and pid != os.getpid()]
        self.cpu[span] = (time.monotonic(), cpu_seconds(server), cpu_seconds(browser))
        return value

    def cpu_between(self, start: str, end: str) -> tuple[float, float, float] | None:
        """(wall s, server CPU s, browser CPU s) from mark ``start`` to mark ``end``."""
        if start not in self.cpu or end not in self.cpu:
            return None
        return tuple(b - a for a, b in zip(self.cpu[start], self.cpu[end]))  # type: ignore[return-value]

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.samples.append((time.monotonic(), rss_bytes(self.pid), self.span))

    def peak(self, *spans: str) -> int:
        return max((value for _, value, span in self.samples if span in spans), default=0)


# ---------------------------------------------------------------- the browser sessions


def expectation(arch: str, network_copy: int) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    """Return (first-load point, changed-to point) of the ``network_copy``-th session of ``arch``."""
    if arch in POINTS:
        return POINTS[arch][0], POINTS[arch][1 + network_copy % (len(POINTS[arch]) - 1)]
    # Any other network: the app's own labels (built on the meta device); output shapes unchecked.
    sys.path.insert(0, str(ROOT))
    import torch

    from explorer.activations import capture_points
    from explorer.analysis import analyze
    from explorer.zoo import build

    report = analyze(arch)
    with torch.device("meta"):
        model = build(arch)
    points = capture_points(model, report.calls())
    labels = {p.name: p.label for p in points}
    first = next((row.name for row in report.leaves() if row.type == "Conv2d"), points[0].name)
    others = [p.label for p in points if p.name != first]
    return (labels[first], None), (others[len(others) * (1 + network_copy % 2) // 3], None)


def matches(snap: dict, arch: str, point: tuple[str, str | None]) -> bool:
    label, shape = point
    wanted = f"Output of {label}: " + (f"{shape}." if shape else "")
    return bool(snap["caption"] and wanted in snap["caption"] and snap["arch"]
                and f"{arch} · " in snap["arch"])


def mismatch(snap: dict, arch: str, point: tuple[str, str | None]) -> str:
    """Say how a finished page differs from what ``arch`` and ``point`` should show."""
    shown = " ".join((snap["arch"] or "").split()).removeprefix("Architecture").strip()
    caption = (snap["caption"] or "").split(" Memory:")[0]
    others = [f"Output of {label}: {shape}." for name, points in POINTS.items() for label, shape in points
              if (label, shape) != point]
    wrong_network = bool(shown) and f"{arch} · " not in shown
    kind = "cross-talk" if wrong_network or any(text in caption for text in others) else "unexpected content"
    return (f"{kind}: expected {arch} / {point[0]} {point[1] or ''}; picker shows {shown!r}; "
            f"caption {caption!r}")


async def screenshot(page, session: Session, phase: str) -> None:
    path = RESULTS / f"bench_load_session{session.index}_{phase.replace(' ', '_')}.png"
    try:
        await page.screenshot(path=str(path), full_page=True, timeout=30_000)
        session.errors[-1] += f" [screenshot {path.relative_to(ROOT)}]"
    except Exception:
        pass


async def settle(page, session: Session, point: tuple[str, str | None], started: float, timeout: float,
                 phase: str) -> float | None:
    """Poll until ``session`` shows ``point`` with the script finished; return the seconds since ``started``.

    Records when the script was first seen running (``phase`` + " start"), and an error (returning None)
    for an exception, cross-talk or a timeout, with a screenshot under bench/results/.
    """
    result = await _settle(page, session, point, started, timeout, phase)
    if result is None:
        await screenshot(page, session, phase)
    return result


async def _settle(page, session: Session, point: tuple[str, str | None], started: float, timeout: float,
                  phase: str) -> float | None:
    seen_running = False
    wrong_since: float | None = None
    deadline = started + timeout
    snap: dict = {}
    while time.monotonic() < deadline:
        try:
            snap = await page.evaluate(PROBE)
        except Exception as error:  # navigation in progress: the document is being replaced
            if "context was destroyed" in str(error) or "navigation" in str(error).lower():
                await asyncio.sleep(POLL_S)
                continue
            raise
        now = time.monotonic()
        if snap["state"] in ("running", "rerunRequested"):
            if not seen_running:
                session.times[f"{phase} start"] = now - started
            seen_running = True
        quiet = snap["state"] == "notRunning" and snap["stale"] == 0
        if quiet and (snap["exceptions"] or snap["appError"]):
            detail = (snap["exceptions"] or ["This app has encountered an error"])[0]
            session.errors.append(f"exception: {' '.join(detail.split())[:200]}")
            return None
        if quiet and matches(snap, session.arch, point):
            await asyncio.sleep(CONFIRM_S)
            again = await page.evaluate(PROBE)
            if again["state"] == "notRunning" and again["stale"] == 0 and matches(again, session.arch, point):
                return now - started
            continue
        if quiet and snap["caption"] and snap["arch"] and seen_running:  # a picker still loading is no mismatch
            wrong_since = wrong_since or now
            if now - wrong_since > CROSSTALK_S:
                session.errors.append(mismatch(snap, session.arch, point))
                return None
        else:
            wrong_since = None
        await asyncio.sleep(POLL_S)
    session.errors.append(f"timeout after {timeout:.0f} s (script state {snap.get('state')}, "
                          f"connection {snap.get('connection')}, stale {snap.get('stale')}, "
                          f"picker {' '.join((snap.get('arch') or 'not shown').split())!r}, "
                          f"caption {(snap.get('caption') or '').split(' Memory:')[0]!r})")
    return None


async def timed(page, session: Session, phase: str, target, action, timeout: float) -> None:
    """Run ``action`` (a coroutine function), then record how long ``session`` took to settle on ``target``."""
    started = time.monotonic()
    try:
        await action()
        seconds = await settle(page, session, target, started, timeout, phase)
    except Exception as error:
        session.errors.append(f"{phase}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
        return
    if seconds is not None:
        session.times[phase] = seconds


async def first_load(page, session: Session, url: str, timeout: float) -> None:
    # poll from the first response on, so the time the page's scripts take to load is visible too
    await timed(page, session, "first load", session.first, lambda: page.goto(
        f"{url}/feature_maps?arch={session.arch}", timeout=timeout * 1000, wait_until="commit"), timeout)


async def open_point_list(page, session: Session) -> bool:
    """Type this session's new point into the picker and wait for the list; Enter is pressed later."""
    label = session.change[0]
    try:
        box = page.locator("[data-testid=stMain] [data-testid=stSelectbox]").filter(has_text="Layer or branch point")
        await box.first.locator("input").click(timeout=60_000)
        await page.keyboard.type(label)
        option = page.locator("[role=option]").first
        await option.wait_for(timeout=60_000)
        shown = (await option.inner_text()).strip()
        if label not in shown:
            session.errors.append(f"change point: the list's first option is {shown!r}, not {label!r}")
            return False
        return True
    except Exception as error:
        session.errors.append(f"change point: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
        return False


async def change_point(page, session: Session, timeout: float) -> None:
    await timed(page, session, "change point", session.change, lambda: page.keyboard.press("Enter"), timeout)


async def warm_up(browser, url: str, timeout: float) -> None:
    """One visit to Home: the server's first script run imports torch, torchvision and plotly."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = await context.new_page()
        await page.goto(url, timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = await page.evaluate(PROBE)
            if snap["state"] == "notRunning" and snap["stale"] == 0:
                return
            await asyncio.sleep(POLL_S)
        raise RuntimeError(f"warm-up: Home did not finish within {timeout:.0f} s")
    finally:
        await context.close()


async def drive(sessions: list[Session], url: str, args, sampler: RssSampler) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            if not args.no_warmup:
                await warm_up(browser, url, args.phase_timeout)
            contexts = [await browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in sessions]
            pages = [await context.new_page() for context in contexts]
            for page, session in zip(pages, sessions):
                page.on("pageerror", lambda error, s=session: s.errors.append(f"page error: {str(error)[:200]}"))
            bound = args.phase_timeout + 60  # settle() stops itself at phase_timeout; this is a safety net

            sampler.mark("before")
            sampler.mark("first load")
            await asyncio.wait_for(asyncio.gather(*(first_load(p, s, url, args.phase_timeout)
                                                    for p, s in zip(pages, sessions))), bound)
            sampler.mark("idle")
            ready = await asyncio.wait_for(asyncio.gather(*(open_point_list(p, s)
                                                            for p, s in zip(pages, sessions))), bound)
            sampler.mark("change point")
            await asyncio.wait_for(asyncio.gather(*(change_point(p, s, args.phase_timeout)
                                                    for p, s, ok in zip(pages, sessions, ready) if ok)), bound)
            sampler.mark("done")
            for context in contexts:
                await context.close()
        finally:
            await browser.close()


# ---------------------------------------------------------------- report


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p95 of 12 values is the 12th smallest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def print_table(sessions: list[Session], rss: dict[str, float], cpu: dict[str, tuple | None]) -> None:
    print("| phase | sessions | p50 s | p95 s | max s | errors |")
    print("|---|---|---|---|---|---|")
    for phase in ("first load", "change point"):
        times = [s.times[phase] for s in sessions if phase in s.times]
        errors = sum(1 for s in sessions if phase not in s.times)
        settled = f"{len(times)}/{len(sessions)}" if errors else str(len(sessions))
        if times:
            print(f"| {phase} | {settled} | {percentile(times, 0.5):.2f} | {percentile(times, 0.95):.2f} | "
                  f"{max(times):.2f} | {errors} |")
        else:
            print(f"| {phase} | {settled} | - | - | - | {errors} |")
    for phase, what in (("first load", "page load + websocket + queue"), ("change point", "Enter -> rerun")):
        starts = [s.times[f"{phase} start"] for s in sessions if phase in s.times and f"{phase} start" in s.times]
        runs = [s.times[phase] - s.times[f"{phase} start"] for s in sessions
                if phase in s.times and f"{phase} start" in s.times]
        if starts:
            print(f"\n{phase}: script seen running after p50 {percentile(starts, 0.5):.2f} s / max {max(starts):.2f} s "
                  f"({what}), then settled after p50 {percentile(runs, 0.5):.2f} s / max {max(runs):.2f} s "
                  f"({len(starts)} sessions; polled every {POLL_S} s)", end="")
    print("\n")
    for phase, spans in cpu.items():
        if spans:
            wall, server, browser = spans
            print(f"{phase}: {wall:.1f} s wall; CPU s used: server {server:.1f}, Chromium + Playwright {browser:.1f} "
                  f"(this machine: {os.cpu_count()} cores, shared with anything else running)")
    print(f"server RSS (children included), MB: before {rss['before']:.0f} / peak {rss['peak']:.0f} "
          f"(first load {rss['peak first load']:.0f}, change point {rss['peak change point']:.0f}) / "
          f"after {rss['after']:.0f}")
    problems = [(s, e) for s in sessions for e in s.errors]
    if problems:
        print()
        print(f"errors ({len(problems)}):")
        for session, error in problems:
            print(f"- {session.describe()}: {error}")


APP_CODE = re.compile(r"(/explorer/|/app_pages/|/app\.py$|/torch/|/torchvision/)")
LIBRARIES = re.compile(r"/(streamlit|plotly|PIL|numpy|pandas|narwhals|google/protobuf)/")
# Rough buckets: the cumulative time of the named functions (nested ones are not double-counted within a
# bucket only when they do not call each other; these do not).
BUCKETS = {
    "model build / weight init (explorer.weights.load_model)": [("explorer/weights.py", "load_model")],
    "analysis on the meta device (explorer.analysis.analyze)": [("explorer/analysis/__init__.py", "analyze")],
    "forward pass with hooks (explorer.activations.capture)": [("explorer/activations.py", "capture")],
    "montage / overlay / filter tiles (explorer.montage)": [("explorer/montage.py", "montage"),
                                                            ("explorer/montage.py", "overlay"),
                                                            ("explorer/montage.py", "filter_tiles")],
    "st.image: PIL -> PNG/JPEG encoding (streamlit image_utils)": [("elements/lib/image_utils.py", "marshall_images")],
    "st.plotly_chart (figure -> JSON, incl. plotly)": [("elements/plotly_chart.py", "plotly_chart")],
    "plotly figures built (explorer.charts)": [("explorer/charts.py", f) for f in
                                               ("predictions_chart", "channel_heatmap", "channel_statistics_chart",
                                                "values_chart")],
    "page script (app_pages/feature_maps.py)": [("app_pages/feature_maps.py", "<module>")],
    "whole script runs (app.py + page, ScriptRunner._run_script)": [("script_runner.py", "_run_script")],
    "gc.collect after each script run (runner.postScriptGC)": [("~", "<built-in method gc.collect>")],
    "websocket send (event loop thread)": [("web/server/starlette/starlette_websocket.py", "_sender")],
}


def short(filename: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def print_profile(path: Path, clock: str) -> None:
    import pstats

    if not path.exists():
        print(f"\nno profile written at {path} (server did not exit cleanly)")
        return
    stats = pstats.Stats(str(path)).stats  # (file, line, function) -> (cc, nc, tt, ct, callers)

    def rows(keep) -> list[tuple]:
        chosen = [(key, value) for key, value in stats.items() if keep(key)]
        return sorted(chosen, key=lambda item: item[1][3], reverse=True)

    def show(title: str, chosen: list[tuple], count: int) -> None:
        print(f"\n{title}")
        print("| cum s | own s | calls | function |")
        print("|---|---|---|---|")
        for (filename, line, name), (_, calls, own, cum, _) in chosen[:count]:
            where = f"{short(filename)}:{line}({name})" if filename != "~" else name
            print(f"| {cum:.2f} | {own:.2f} | {calls} | {where} |")

    def is_app_or_torch(key) -> bool:
        filename, _, name = key
        return bool(APP_CODE.search(filename)) or (filename == "~" and "torch" in name)

    what = ("wall seconds per thread, summed over threads: waits for the GIL and for locks count"
            if clock == "wall" else "CPU seconds of each Python thread (torch's intra-op workers not counted)")
    print(f"\nprofile: {path} (cProfile, every thread merged; {what}; inflated by the profiler)")
    show("top 25 cumulative, the app's own code and torch:", rows(is_app_or_torch), 25)
    show("top 15 cumulative, streamlit / plotly / PIL / numpy / pandas / protobuf:",
         rows(lambda key: bool(LIBRARIES.search(key[0]))), 15)
    show("top 15 own time, anywhere:", sorted(stats.items(), key=lambda item: item[1][2], reverse=True), 15)
    print("\nwhere the time goes (cumulative s of the named functions, summed over threads):")
    print("| bucket | cum s | calls |")
    print("|---|---|---|")
    for bucket, functions in BUCKETS.items():
        cum = calls = 0
        for (filename, _, name), (_, nc, _, ct, _) in stats.items():
            if any(filename.endswith(suffix) and name == function for suffix, function in functions):
                cum, calls = cum + ct, calls + nc
        print(f"| {bucket} | {cum:.2f} | {calls} |")


# ---------------------------------------------------------------- the profiled server's launcher


def serve_profiled(out: str, clock: str, streamlit_args: list[str]) -> None:
    """Run `streamlit ARGS` with one cProfile profiler per thread; merge them into ``out`` on exit.

    cProfile (Python 3.11) only sees the thread that enabled it, and Streamlit runs every script in a thread
    of its own, so `python -m cProfile -m streamlit` would miss the app entirely.
    """
    import cProfile
    import pstats
    import runpy

    finished: list[cProfile.Profile] = []

    def new_profiler() -> cProfile.Profile:
        return cProfile.Profile(time.thread_time) if clock == "cpu" else cProfile.Profile()

    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self) -> None:
        profiler = new_profiler()
        profiler.enable()
        try:
            original_run(self)
        finally:
            profiler.disable()
            with lock:
                finished.append(profiler)

    threading.Thread.run = profiled_run
    main_profiler = new_profiler()
    sys.argv = ["streamlit", *streamlit_args]
    sys.path[0] = str(ROOT)
    main_profiler.enable()
    try:
        runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
    finally:
        main_profiler.disable()
        with lock:
            done = list(finished)
        merged = pstats.Stats(main_profiler)
        for profiler in done:
            merged.add(profiler)
        merged.dump_stats(out)
        print(f"profile of the main thread and {len(done)} finished threads written to {out}", flush=True)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12, help="browser sessions at once (default 12)")
    parser.add_argument("--networks", default=",".join(DEFAULT_NETWORKS),
                        help="comma-separated architectures, assigned to the sessions in turn")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--phase-timeout", type=float, default=300, help="seconds each phase may take")
    parser.add_argument("--no-warmup", action="store_true",
                        help="let the first load include the server's first script run (imports torch)")
    parser.add_argument("--profile", nargs="?", const=str(RESULTS / "bench_load.prof"), default=None,
                        metavar="FILE", help="run the server under cProfile, write FILE, print the top functions")
    parser.add_argument("--profile-clock", choices=["wall", "cpu"], default="wall",
                        help="wall: each thread's elapsed time, waits for the GIL and locks included (default); "
                             "cpu: each thread's own CPU time (torch's intra-op worker threads not counted)")
    args = parser.parse_args()
    if args.sessions < 1:
        parser.error("--sessions must be at least 1")
    networks = [name.strip() for name in args.networks.split(",") if name.strip()]
    if not networks:
        parser.error("--networks names no architecture")
    if not Path(CHROMIUM).exists():
        parser.error(f"no Chromium at {CHROMIUM} (set CHROMIUM=...)")

    sessions = []
    for index in range(args.sessions):
        arch = networks[index % len(networks)]
        first, change = expectation(arch, index // len(networks))
        sessions.append(Session(index, arch, first, change))

    RESULTS.mkdir(parents=True, exist_ok=True)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    log = RESULTS / "bench_load_server.log"
    profile = Path(args.profile).resolve() if args.profile else None
    if profile is not None and profile.exists():
        profile.unlink()
    used = list(dict.fromkeys(s.arch for s in sessions))
    print(f"{args.sessions} sessions on {len(used)} networks ({', '.join(used)}); server {url}, log {log}" + (f", profile {profile}" if profile else ""),
          flush=True)

    began = time.monotonic()
    server = start_server(port, profile, log, args.profile_clock)
    sampler = RssSampler(server.pid)
    rss: dict[str, float] = {}
    cpu: dict[str, tuple | None] = {}
    failure = None
    try:
        wait_healthy(server, url, 120, log)
        sampler.start()
        asyncio.run(drive(sessions, url, args, sampler))
    except Exception as error:  # report what was measured; the finally below still stops everything
        failure = f"{type(error).__name__}: {error}"
    except KeyboardInterrupt:
        failure = "interrupted"
    finally:
        time.sleep(2.0)  # let the server drop the closed sessions
        after = sampler.mark("after") if server.poll() is None else 0
        sampler.stopped.set()
        values = [value for _, value, span in sampler.samples]
        before = next((value for _, value, span in sampler.samples if span == "before"), 0)
        mb = 2 ** 20
        rss = {"before": before / mb, "peak": max(values, default=0) / mb, "after": after / mb,
               "peak first load": sampler.peak("first load") / mb, "peak change point": sampler.peak("change point") / mb}
        cpu = {"first load": sampler.cpu_between("first load", "idle"),
               "change point": sampler.cpu_between("change point", "done")}
        stop_server(server, graceful=profile is not None)

    print(f"\nfinished in {time.monotonic() - began:.0f} s\n")
    print_table(sessions, rss, cpu)
    if failure:
        print(f"\nthe run stopped early: {failure}")
    if profile is not None:
        print_profile(profile, args.profile_clock)
    return 1 if failure or any(s.errors for s in sessions) else 0


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == PROFILE_FLAG:
        serve_profiled(sys.argv[2], sys.argv[3], sys.argv[4:])
    else:
        sys.exit(main())
