"""The app starts and shows its home page without an exception."""

from streamlit.testing.v1 import AppTest

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_app_starts_on_the_home_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "ConvNet Explorer"
