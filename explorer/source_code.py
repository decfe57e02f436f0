"""The PyTorch source code of a model's own classes (not torch.nn's building bricks)."""

from __future__ import annotations

import inspect

from torch import nn


def model_source_code(model: nn.Module) -> list[tuple[str, str]]:
    """Return (qualified class name, source code) for the model's class and each distinct block class in it.

    Classes from torch.nn itself (Conv2d, ReLU, ...) are left out; so are classes whose source
    is not available (built-ins).
    """
    classes: list[tuple[str, str]] = []
    seen: set[type] = set()
    for module in model.modules():
        cls = type(module)
        if cls in seen or cls.__module__.startswith("torch.nn"):
            continue
        seen.add(cls)
        try:
            classes.append((f"{cls.__module__}.{cls.__qualname__}", inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
    return classes
