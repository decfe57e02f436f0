"""AppTest helpers: open a page of the real app with query parameters; fresh caches for every test."""

from __future__ import annotations

import os

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

APP = str(ROOT / "app.py")

# Every test starts from empty caches: a warm-up thread (explorer/ui/warmup.py) would refill them meanwhile.
os.environ["CONVNET_EXPLORER_WARM_UP"] = "0"


@pytest.fixture(autouse=True)
def fresh_caches():
    from explorer.ui.cache import MODELS
    from explorer.ui.finetune import WORK

    st.cache_data.clear()
    st.cache_resource.clear()
    MODELS.clear()
    WORK.clear()
    yield


def _open_page(page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page(page)
    at.query_params.update(query)
    return at.run()


@pytest.fixture
def open_page():
    """Return a function that runs app.py on ``page`` (e.g. "app_pages/architecture.py") with query parameters."""
    return _open_page


@pytest.fixture
def downloads(monkeypatch):
    """Capture the bytes every st.download_button hands to the media file storage, by file name (a deferred
    download's callable is called as a click would call it)."""
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    captured: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data.encode() if isinstance(path_or_data, str) else bytes(path_or_data)
        if filename:
            captured[filename] = data
        return original(self, path_or_data, mimetype, kind, filename)

    def deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        data = data_callable()  # what a click would hand the browser
        captured[file_name] = data.encode() if isinstance(data, str) else bytes(data)
        return original_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    original_deferred = MediaFileManager.add_deferred
    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    monkeypatch.setattr(MediaFileManager, "add_deferred", deferred)
    return captured
