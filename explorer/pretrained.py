"""torchvision's pretrained weights: torch hub's cache first (``$TORCH_HOME/hub/checkpoints``), then a download.

Offline, a clear WeightsUnavailableError says so and the caller keeps random weights; a download is
checked against the digest in its file name.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import torch
from torchvision.models import get_model_weights

from explorer.errors import WeightsError, WeightsUnavailableError
from explorer.zoo import Origin, get_spec

Progress = Callable[[float, str], None]


def pretrained_weights(name: str) -> Any | None:
    """Return torchvision's DEFAULT weights enum for ``name``, or None if it has none."""
    if get_spec(name).origin != Origin.TORCHVISION:
        return None
    try:
        return get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        return None


def checkpoint_path(weights: Any) -> Path:
    """Return where torch hub keeps (or would keep) the checkpoint of ``weights``."""
    filename = os.path.basename(weights.url.split("?")[0])
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _download(url: str, destination: Path, progress: Progress | None) -> None:
    match = re.search(r"-([a-f0-9]{6,})\.", os.path.basename(destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - torchvision's own URL
            total = int(response.headers.get("Content-Length") or 0)
            digest = hashlib.sha256()
            done = 0
            with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as handle:
                while chunk := response.read(1 << 20):
                    handle.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done / total if total else 0.0, f"{done / 2**20:.0f} MB")
    except (urllib.error.URLError, OSError, TimeoutError):
        raise WeightsUnavailableError(
            "The pretrained weights are not on this server and could not be downloaded (no connection to the "
            "internet?); random weights stay in use. An administrator can place them in torch hub's cache: "
            "see README, \"Pretrained weights offline\".") from None
    if match and not digest.hexdigest().startswith(match.group(1)):
        os.unlink(handle.name)
        raise WeightsUnavailableError("The downloaded weights are corrupt (checksum mismatch); random weights stay in use.")
    os.replace(handle.name, destination)


def ensure_pretrained_cached(name: str, progress: Progress | None = None) -> Path:
    """Return the path of ``name``'s DEFAULT pretrained checkpoint in torch hub's cache, downloading it if missing.

    Raises:
        WeightsError: ``name`` has no pretrained weights.
        WeightsUnavailableError: not cached and not downloadable.
    """
    weights = pretrained_weights(name)
    if weights is None:
        raise WeightsError(f"torchvision has no pretrained weights for {name}.")
    path = checkpoint_path(weights)
    if not path.exists():
        _download(weights.url, path, progress)
    return path


def classics_with_weights() -> list[str]:
    """Return the course's classics that torchvision has pretrained weights for, in Home's order."""
    from explorer.zoo import classics

    return [name for name in classics() if pretrained_weights(name) is not None]


def install_checkpoint(name: str, folder: Path | None = None, progress: Progress | None = None) -> Path:
    """Put ``name``'s pretrained checkpoint into torch hub's cache and return its path there.

    With ``folder``, the file of the same name is copied from it (how a container image bakes weights in with no
    internet); without, it is downloaded unless already cached.

    Raises:
        WeightsError: ``name`` has no pretrained weights, or ``folder`` lacks its file.
        WeightsUnavailableError: not cached and not downloadable.
    """
    weights = pretrained_weights(name)
    if weights is None:
        raise WeightsError(f"torchvision has no pretrained weights for {name}.")
    path = checkpoint_path(weights)
    if folder is None:
        return ensure_pretrained_cached(name, progress)
    source = Path(folder) / path.name
    if not source.is_file():
        raise WeightsError(f"{folder} has no {path.name} (the pretrained weights of {name}); "
                           "run `make weights` on a machine with internet first.")
    if not path.exists() or path.stat().st_size != source.stat().st_size:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
    return path
