"""Helpers shared by the browser tests."""

from __future__ import annotations

import time


def assert_no_exception(page) -> None:
    """Fail if Streamlit shows an exception box anywhere on the page."""
    exceptions = page.locator("[data-testid=stException]")
    assert exceptions.count() == 0, exceptions.first.inner_text()


def wait_until_idle(page, timeout: float = 90) -> None:
    """Wait until the app has finished running its script (the 'Running...' indicator is gone)."""
    page.wait_for_selector("[data-testid=stApp]", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = page.locator("[data-testid=stStatusWidget]").filter(has_text="Running")
        if running.count() == 0:
            time.sleep(0.5)
            if page.locator("[data-testid=stStatusWidget]").filter(has_text="Running").count() == 0:
                return
        time.sleep(0.3)


def wait_for_condition(check, timeout: float = 60, interval: float = 0.5) -> None:
    """Poll ``check()`` until it is true; fail with a clear message after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"condition still false after {timeout} s")
