"""Time-to-settle in a real browser, shared by the browser benchmarks (bench_browser, bench_compare).

A page has settled when its script has finished (stApp's data-test-script-state is notRunning, nothing is stale,
the status widget no longer says Running), it has a title, and the action's own ``ready`` condition (a JavaScript
expression over ``main``, the stMain element) holds; polled every 50 ms and confirmed 0.3 s later. An action that
reruns the script also waits until the browser has seen one more finished run than before it (counted by a
MutationObserver installed in every page), so a fast rerun is never mistaken for the state before it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

POLL_S = 0.05
CONFIRM_S = 0.3
TIMEOUT_S = 120  # a page that has not settled by then is reported as a failure

# Counts the script runs the browser has seen finish (running -> notRunning), from the page's first paint.
RUN_COUNTER = """
window.__finishedRuns = 0;
new MutationObserver(records => {
  for (const record of records) {
    if (record.oldValue === 'running' && record.target.getAttribute('data-test-script-state') === 'notRunning') {
      window.__finishedRuns += 1;
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""

PROBE = """(ready) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMain"]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  const visible = e => { const box = e.getBoundingClientRect(); return box.width > 0 && box.height > 0; };
  let ok = true;
  if (ready && main) { ok = !!(new Function('main', 'visible', 'return (' + ready + ');'))(main, visible); }
  return {
    state: app ? app.getAttribute('data-test-script-state') : null,
    runs: window.__finishedRuns || 0,
    stale: document.querySelectorAll('[data-stale="true"]').length,
    running: !!(status && status.textContent.includes('Running')),
    ready: !!(main && ok),
    title: !!(main && main.querySelector('h1')),
    exceptions: [...document.querySelectorAll('[data-testid="stException"]')].map(e => e.textContent.slice(0, 300)),
    appError: document.body ? document.body.textContent.includes('This app has encountered an error') : false,
  };
}"""

# Ready conditions the benchmarks share.
TABLE = ("[...main.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
         ".some(e => visible(e) && e.querySelector('canvas'))")


class NotSettled(RuntimeError):
    pass


def snap(page, ready: str | None = None) -> dict | None:
    """The page's state now, or None while a navigation replaces the document."""
    try:
        return page.evaluate(PROBE, ready)
    except Exception as error:
        if "context was destroyed" in str(error) or "navigation" in str(error).lower():
            return None
        raise


def _settled(state: dict | None, runs_before: int | None) -> bool:
    return bool(state and state["state"] == "notRunning" and state["stale"] == 0 and not state["running"]
                and state["ready"] and state["title"] and (runs_before is None or state["runs"] > runs_before))


def finished_runs(page) -> int:
    """How many script runs this page has seen finish."""
    return (snap(page) or {"runs": 0})["runs"]


def settle(page, started: float, what: str, ready: str | None = None, runs_before: int | None = None) -> float:
    """Poll until the page has settled; return the seconds from ``started`` to when it was first seen settled.

    Raises:
        NotSettled: the page showed an exception, or did not settle within TIMEOUT_S.
    """
    deadline = started + TIMEOUT_S
    state = None
    while time.monotonic() < deadline:
        state = snap(page, ready)
        now = time.monotonic()
        if state and (state["exceptions"] or state["appError"]) and state["state"] == "notRunning":
            detail = (state["exceptions"] or ["This app has encountered an error"])[0]
            raise NotSettled(f"{what}: exception: {' '.join(detail.split())[:200]}")
        if _settled(state, runs_before):
            time.sleep(CONFIRM_S)
            if _settled(snap(page, ready), runs_before):
                return now - started
            continue
        time.sleep(POLL_S)
    raise NotSettled(f"{what}: not settled after {TIMEOUT_S} s (last seen {state})")


def new_page(browser, width: int = 1400, height: int = 1000):
    """A page in a fresh browser context (a new Streamlit session) that counts finished script runs."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(RUN_COUNTER)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)[:200]))
    return page


@contextmanager
def session(browser) -> Iterator:
    """A new_page() for the ``with`` block; its context is closed after it."""
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()


def timed_goto(page, url: str, what: str, ready: str | None = None) -> float:
    """Navigate (a new script run in this session) and return the seconds until settled."""
    started = time.monotonic()
    page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
    return settle(page, started, what, ready)


def timed_reload(page, what: str, ready: str | None = None) -> float:
    """Reload (a new session on a warm server) and return the seconds until settled."""
    started = time.monotonic()
    page.reload(wait_until="commit", timeout=TIMEOUT_S * 1000)
    return settle(page, started, what, ready)


def timed_action(page, act, what: str, ready: str | None = None, reruns: bool = True) -> float:
    """Do ``act()`` (a click, a key) and return the seconds until settled; ``reruns``: the action reruns the
    script, so settled also needs one more finished run than before it."""
    runs_before = finished_runs(page) if reruns else None
    started = time.monotonic()
    act()
    return settle(page, started, what, ready, runs_before)


def visit(browser, url: str, what: str, reloads: int = 0, ready: str | None = None) -> list[float]:
    """Open ``url`` in a fresh context and time its settling; then ``reloads`` reloads, each timed."""
    with session(browser) as page:
        times = [timed_goto(page, url, what, ready)]
        times += [timed_reload(page, f"{what}, reload {index + 1}", ready) for index in range(reloads)]
        if page.errors:
            raise NotSettled(f"{what}: JavaScript page error: {page.errors[0]}")
        return times
