"""The app starts and shows its home page without an exception, and without importing PyTorch."""

import os
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def test_app_starts_on_the_home_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "ConvNet Explorer"


def test_home_draws_without_importing_torch():
    # A fresh server's first page must not wait for torch and torchvision (seconds): Home's numbers are shipped
    # precomputed and the device picker sits on the pages that run something. A fresh interpreter, because this one
    # has imported torch long ago.
    script = ("import sys\n"
              "from streamlit.testing.v1 import AppTest\n"
              f"at = AppTest.from_file({str(ROOT / 'app.py')!r}, default_timeout=60).run()\n"
              "assert not at.exception, at.exception\n"
              "assert any('LeNet-5' in m.value for m in at.markdown)\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))[:5])\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "CONVNET_EXPLORER_WARM_UP": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
