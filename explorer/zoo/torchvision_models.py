"""Every torchvision classification model, registered under its torchvision name.

The default input resolution is the crop size of the model's DEFAULT weights, read from torchvision's
weight metadata (no download). Options are the constructor arguments a learner may want to change.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from typing import Any, Callable, Iterator

import torch
import torchvision
from torch import nn
from torchvision.models import get_model, get_model_weights, list_models
from torchvision.models import regnet as _tv_regnet

from explorer.zoo.families import family
from explorer.zoo.registry import ArchitectureSpec, Option, Origin, add_spec

# torchvision's RegNet builders get their block widths from BlockParams.from_init_params
# (torchvision/models/regnet.py), which computes them with torch.arange(depth) * w_a + w_0 ... .tolist().
# Under torch.device("meta") those tensors have no values and .tolist() fails, which would force a full
# CPU build (seconds and gigabytes for regnet_y_128gf). The widths are plain host-side integers, so while
# a RegNet builds, that one function runs under torch.device("cpu"); the widths are identical. Sessions
# build concurrently: torchvision's function is replaced when the first RegNet build starts and restored
# when the last one ends, counted under a lock. Outside those builds torchvision is untouched (a build
# elsewhere that overlaps one gets the same widths anyway).
_ORIGINAL_FROM_INIT_PARAMS = _tv_regnet.BlockParams.__dict__["from_init_params"]  # the classmethod itself
_regnet_lock = threading.Lock()
_regnet_builds = 0


def _block_params_on_cpu(cls: type, *args: Any, **kwargs: Any) -> Any:
    with torch.device("cpu"):
        return _ORIGINAL_FROM_INIT_PARAMS.__func__(cls, *args, **kwargs)


@contextlib.contextmanager
def _regnet_widths_on_cpu() -> Iterator[None]:
    """Run RegNet's block-width computation on the CPU inside this with-block (see the comment above)."""
    global _regnet_builds
    with _regnet_lock:
        if _regnet_builds == 0:
            _tv_regnet.BlockParams.from_init_params = classmethod(_block_params_on_cpu)  # type: ignore[method-assign]
        _regnet_builds += 1
    try:
        yield
    finally:
        with _regnet_lock:
            _regnet_builds -= 1
            if _regnet_builds == 0:
                _tv_regnet.BlockParams.from_init_params = _ORIGINAL_FROM_INIT_PARAMS  # type: ignore[method-assign]


# (name pattern, family name). First match wins.
_FAMILY_RULES: list[tuple[str, str]] = [
    (r"^alexnet$", "AlexNet"),
    (r"^convnext_", "ConvNeXt"),
    (r"^densenet", "DenseNet"),
    (r"^efficientnet_v2_", "EfficientNetV2"),
    (r"^efficientnet_b", "EfficientNet"),
    (r"^googlenet$", "Inception"),
    (r"^inception_v3$", "Inception"),
    (r"^maxvit_", "MaxViT"),
    (r"^mnasnet", "MnasNet"),
    (r"^mobilenet_v2$", "MobileNet v2"),
    (r"^mobilenet_v3_", "MobileNet v3"),
    (r"^regnet_", "RegNet"),
    (r"^resnet\d+$", "ResNet"),
    (r"^resnext", "ResNeXt"),
    (r"^shufflenet_v2_", "ShuffleNet"),
    (r"^squeezenet", "SqueezeNet"),
    (r"^swin_", "Swin Transformer"),
    (r"^vgg\d+", "VGG"),
    (r"^vit_", "Vision Transformer"),
    (r"^wide_resnet", "Wide ResNet"),
]

# Where a model's paper differs from its family's (the family names the founding paper).
_PAPERS: dict[str, tuple[int, str, str]] = {
    "alexnet": (2014, "One weird trick for parallelizing convolutional neural networks",
                "https://arxiv.org/abs/1404.5997"),
    "inception_v3": (2015, "Rethinking the Inception Architecture for Computer Vision",
                     "https://arxiv.org/abs/1512.00567"),
    "swin_v2": (2021, "Swin Transformer V2: Scaling Up Capacity and Resolution",
                "https://arxiv.org/abs/2111.09883"),
}

_DISPLAY_NAMES: dict[str, str] = {
    "alexnet": "AlexNet (torchvision, one GPU)",
    "googlenet": "GoogLeNet (Inception v1)",
    "inception_v3": "Inception v3",
    "mobilenet_v2": "MobileNet v2",
    "mobilenet_v3_large": "MobileNet v3 large",
    "mobilenet_v3_small": "MobileNet v3 small",
}

CLASSICS = ("vgg16", "resnet50", "googlenet", "mobilenet_v2", "efficientnet_b0")


def _family_of(name: str) -> str:
    for pattern, family_name in _FAMILY_RULES:
        if re.search(pattern, name):
            return family_name
    return "Other"


def _display_name(name: str) -> str:
    if name in _DISPLAY_NAMES:
        return _DISPLAY_NAMES[name]
    if match := re.fullmatch(r"(resnet|vgg)(\d+)(_bn)?", name):
        base = {"resnet": "ResNet", "vgg": "VGG"}[match[1]]
        return f"{base}-{match[2]}" + (" with batch norm" if match[3] else "")
    if match := re.fullmatch(r"efficientnet_(b\d|v2_[sml])", name):
        return f"EfficientNet-{match[1].upper().replace('V2_', 'V2-')}"
    return name


def _options(name: str, crop: int) -> dict[str, Option]:
    options = {"num_classes": Option(int, 1000, low=1, high=100_000, help="size of the classifier's output")}
    if name == "googlenet":
        # torchvision documents googlenet's parameters without the auxiliary classifiers.
        options["aux_logits"] = Option(bool, False, help="add the two side classifiers used in training")
    if name == "inception_v3":
        # ... and inception_v3's with its auxiliary classifier.
        options["aux_logits"] = Option(bool, True, help="add the side classifier used in training")
    if name.startswith("vit_"):
        options["image_size"] = Option(int, crop, low=32, high=1024,
                                       help="input resolution; must be a multiple of the patch size")
    if name == "mobilenet_v2":
        options["width_mult"] = Option(float, 1.0, low=0.1, high=2.0, help="width multiplier")
    return options


def _builder(name: str) -> Callable[..., nn.Module]:
    extra: dict[str, Any] = {}
    if name in ("googlenet", "inception_v3"):
        extra["init_weights"] = True  # the default, said explicitly to silence torchvision's warning
    around = _regnet_widths_on_cpu if name.startswith("regnet_") else contextlib.nullcontext

    def build(**config: Any) -> nn.Module:
        with around():
            return get_model(name, weights=None, **extra, **config)

    build.__name__ = name
    build.__qualname__ = name
    build.__doc__ = f"Return torchvision's {name} with random weights (see torchvision.models.{name})."
    return build


def _input_shape_fn(name: str) -> Callable[[dict[str, Any]], tuple[int, int, int]] | None:
    if name.startswith("vit_"):
        return lambda config: (3, config["image_size"], config["image_size"])
    return None


@functools.cache
def torchvision_classification_models() -> tuple[str, ...]:
    """Return the names of every torchvision classification model, sorted."""
    return tuple(list_models(module=torchvision.models))


def register_torchvision_models() -> None:
    """Register every torchvision classification model under its torchvision name."""
    for name in torchvision_classification_models():
        weights = get_model_weights(name).DEFAULT
        crop = int(weights.transforms.keywords["crop_size"])
        fam = family(_family_of(name))
        year, paper_title, paper_url = fam.year, fam.paper_title, fam.paper_url
        for prefix, paper in _PAPERS.items():
            if name.startswith(prefix):
                year, paper_title, paper_url = paper
        add_spec(ArchitectureSpec(
            name=name,
            builder=_builder(name),
            display_name=_display_name(name),
            family=fam.name,
            year=year,
            paper_title=paper_title,
            paper_url=paper_url,
            purpose=fam.purpose,
            input_shape=(3, crop, crop),
            options=_options(name, crop),
            explanation=fam.explanation,
            key_idea=fam.key_idea,
            classic=name in CLASSICS,
            origin=Origin.TORCHVISION,
            input_shape_fn=_input_shape_fn(name),
        ))
