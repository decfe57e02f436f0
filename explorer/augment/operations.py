"""The augmentations a person can add, each declared once, and the checking of pipeline steps.

A step is ``{"op": name, "params": {...}, "p": probability}``. Each operation declares its parameters
(:class:`~explorer.options.Option`) and one call template; the code shown to a person is the template
filled in, and the transform that runs is built from that same code, so the two cannot differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from torchvision.transforms import v2

from explorer.augment.transforms import ColorShift, FancyPCA, RandomColorShift
from explorer.errors import AugmentError, InvalidOptionError
from explorer.options import Option

MAX_STEPS = 32
"""The most steps a pipeline may have, wherever it comes from (the editor, a JSON file, a caller).

Every step keeps one intermediate image for the step-by-step view: unbounded, 5,000 mirrorings took 83 s
and 2.6 GB and a 100,000-step file never finished. Real pipelines use fewer than ten steps.
"""

MAX_DIGITS = 18  # no setting comes near 10**18: longer integers are refused before Python converts them
SHOWN = 40  # characters of a person's text that a message repeats
STEP_KEYS = ("op", "params", "p")
_PROBABILITY = Option(float, 1.0, low=0.0, high=1.0)
# what a call template may name; nothing else (no builtins) is reachable when the code is built
_NAMESPACE = {"__builtins__": {}, "v2": v2, "ColorShift": ColorShift, "RandomColorShift": RandomColorShift,
              "FancyPCA": FancyPCA}
CUSTOM_TRANSFORMS = ("ColorShift", "RandomColorShift", "FancyPCA")


def show(value: Any) -> str:
    """Return ``value`` as a message repeats it: text quoted and cut to 40 characters, JSON's names otherwise.

    Never the whole of a large value: a message is one sentence whatever a file holds.
    """
    if isinstance(value, str):
        return repr(value[:SHOWN]) + ("…" if len(value) > SHOWN else "")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10 ** MAX_DIGITS else f"a number of more than {MAX_DIGITS} digits"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a value of type {type(value).__name__}"


@dataclass(frozen=True)
class Operation:
    """An augmentation a person can add: its label, its parameters and the call that makes it.

    ``call`` is Python with a ``{name}`` for each parameter, e.g. ``"v2.RandomRotation({degrees})"``.
    """

    name: str
    label: str
    params: dict[str, Option]
    call: str
    course: bool = False  # named in the course notes

    def code(self, params: dict[str, Any]) -> str:
        """Return the call with ``params`` (validated: numbers and fixed choices only) filled in."""
        return self.call.format(**{key: repr(value) for key, value in params.items()})

    def build(self, params: dict[str, Any]) -> v2.Transform:
        """Return the transform that :meth:`code` describes, built from that very code."""
        return eval(self.code(params), dict(_NAMESPACE))  # noqa: S307 - validated numbers and choices only


def _floats(**ranges: tuple[float, float, float]) -> dict[str, Option]:
    return {name: Option(float, default, low=low, high=high) for name, (default, low, high) in ranges.items()}


def _ints(**ranges: tuple[int, int, int]) -> dict[str, Option]:
    return {name: Option(int, default, low=low, high=high) for name, (default, low, high) in ranges.items()}


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation("hflip", "Mirror (horizontal flip)", {}, "v2.RandomHorizontalFlip(p=1.0)", course=True),
    Operation("vflip", "Vertical flip", {}, "v2.RandomVerticalFlip(p=1.0)"),
    Operation("random_resized_crop", "Random crop, resized (RandomResizedCrop)",
              {**_ints(size=(224, 16, 1024)), **_floats(scale_min=(0.25, 0.01, 1.0), scale_max=(1.0, 0.01, 1.0),
                                                        ratio_min=(0.75, 0.1, 10.0), ratio_max=(1.3333, 0.1, 10.0))},
              "v2.RandomResizedCrop({size}, scale=({scale_min}, {scale_max}), ratio=({ratio_min}, {ratio_max}), "
              "antialias=True)", course=True),
    Operation("random_crop", "Random crop with padding (RandomCrop)", _ints(size=(224, 8, 1024), padding=(16, 0, 256)),
              "v2.RandomCrop({size}, padding={padding}, pad_if_needed=True)", course=True),
    Operation("color_shift", "Colour shift: fixed R, G, B offsets",
              _ints(red=(20, -255, 255), green=(0, -255, 255), blue=(-20, -255, 255)),
              "ColorShift(({red}, {green}, {blue}))", course=True),
    Operation("random_color_shift", "Colour shift: random R, G, B offsets",
              _ints(red=(30, 0, 255), green=(30, 0, 255), blue=(30, 0, 255)),
              "RandomColorShift(({red}, {green}, {blue}))", course=True),
    Operation("fancy_pca", "PCA colour augmentation (AlexNet)", _floats(sigma=(0.1, 0.0, 2.0)),
              "FancyPCA(sigma={sigma})", course=True),
    Operation("rotation", "Rotation", _floats(degrees=(20.0, 0.0, 180.0)), "v2.RandomRotation({degrees})"),
    Operation("affine", "Affine (rotate, translate, scale, shear)",
              _floats(degrees=(10.0, 0.0, 180.0), translate=(0.1, 0.0, 1.0), scale_min=(0.9, 0.1, 3.0),
                      scale_max=(1.1, 0.1, 3.0), shear=(5.0, 0.0, 90.0)),
              "v2.RandomAffine({degrees}, translate=({translate}, {translate}), scale=({scale_min}, {scale_max}), "
              "shear={shear})"),
    Operation("color_jitter", "Colour jitter (brightness, contrast, saturation, hue)",
              _floats(brightness=(0.4, 0.0, 2.0), contrast=(0.4, 0.0, 2.0), saturation=(0.4, 0.0, 2.0),
                      hue=(0.1, 0.0, 0.5)),
              "v2.ColorJitter({brightness}, {contrast}, {saturation}, {hue})"),
    Operation("grayscale", "Grayscale", {}, "v2.Grayscale(num_output_channels=3)"),
    Operation("gaussian_blur", "Gaussian blur",
              {"kernel": Option(int, 9, choices=(3, 5, 7, 9, 11, 15, 21)), **_floats(sigma_max=(2.0, 0.1, 10.0))},
              "v2.GaussianBlur({kernel}, sigma=(0.1, {sigma_max}))"),
    Operation("random_erasing", "Random erasing", _floats(scale_min=(0.02, 0.001, 1.0), scale_max=(0.2, 0.001, 1.0)),
              "v2.RandomErasing(p=1.0, scale=({scale_min}, {scale_max}), value=0)"),
    Operation("autoaugment", "AutoAugment policy",
              {"policy": Option(str, "imagenet", choices=("imagenet", "cifar10", "svhn"))},
              "v2.AutoAugment(v2.AutoAugmentPolicy({policy}))"),
    Operation("randaugment", "RandAugment", _ints(num_ops=(2, 1, 10), magnitude=(9, 0, 30)),
              "v2.RandAugment(num_ops={num_ops}, magnitude={magnitude})"),
    Operation("trivialaugment", "TrivialAugment", {}, "v2.TrivialAugmentWide()"),
]}


def new_step(op: str) -> dict[str, Any]:
    """Return a step of operation ``op`` with default parameters and probability 1.

    Raises:
        AugmentError: unknown operation.
    """
    return validate_step({"op": op})


def _parse(op: str, name: str, option: Option, value: Any) -> Any:
    """Return ``value`` converted for ``option``; strict: a number must be a JSON number, text must be text.

    Raises:
        AugmentError: the value has the wrong type, is not finite, or lies outside the option's range.
    """
    if option.value_type in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AugmentError(f"{op}: {name} must be a number, not {show(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise AugmentError(f"{op}: {name} must be a finite number, not {show(value)}.")
        if option.value_type is int and isinstance(value, float) and not value.is_integer():
            raise AugmentError(f"{op}: {name} must be a whole number, not {show(value)}.")
        if abs(value) >= 10 ** MAX_DIGITS:  # beyond every range, and beyond what float() and str() take
            raise AugmentError(f"{op}: {name} must be {option.describe()}, not {show(value)}.")
    elif option.value_type is str and not isinstance(value, str):
        raise AugmentError(f"{op}: {name} must be {option.describe()}, not {show(value)}.")
    try:
        return option.parse(name, value)
    except InvalidOptionError:  # its message repeats the whole value: say it with a short one instead
        raise AugmentError(f"{op}: {name} must be {option.describe()}, not {show(value)}.") from None


def validate_step(step: Any) -> dict[str, Any]:
    """Return the step with every parameter checked and defaults filled in.

    Raises:
        AugmentError: not a step, unknown operation or parameter, or a value of the wrong type or out of range.
    """
    if not isinstance(step, dict):
        raise AugmentError(f"Each pipeline step must be an object with an \"op\" name, not {show(step)}.")
    if "op" not in step:
        raise AugmentError("Each pipeline step must be an object with an \"op\" name.")
    op = step["op"]
    if not isinstance(op, str):  # a list here once reached a dict lookup: "unhashable type"
        raise AugmentError(f"The \"op\" of each step must be a name, not {show(op)}.")
    operation = OPERATIONS.get(op)
    if operation is None:
        raise AugmentError(f"Unknown operation {show(op)}; known: {', '.join(OPERATIONS)}.")
    given = step.get("params")
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise AugmentError(f"The parameters of {op} must be an object, not {show(given)}.")
    unknown = [key for key in given if key not in operation.params]
    if unknown:
        raise AugmentError(f"{op} has no parameter {show(unknown[0])}; its parameters are: "
                           f"{', '.join(operation.params) or 'none'}.")
    params = {key: _parse(op, key, option, given.get(key, option.default)) for key, option in operation.params.items()}
    probability = _parse(op, "p", _PROBABILITY, step.get("p", 1.0))
    for low, high in (("scale_min", "scale_max"), ("ratio_min", "ratio_max")):
        if low in params and params[low] > params[high]:
            raise AugmentError(f"{op}: {low} ({params[low]}) must not exceed {high} ({params[high]}).")
    return {"op": op, "params": params, "p": probability}


def validate_steps(steps: Any) -> list[dict[str, Any]]:
    """Return every step of a pipeline validated (see :func:`validate_step`).

    Raises:
        AugmentError: not a list, more than :data:`MAX_STEPS` steps, or an invalid step.
    """
    if not isinstance(steps, (list, tuple)):
        raise AugmentError(f"A pipeline must be a list of steps, not {show(steps)}.")
    if len(steps) > MAX_STEPS:
        raise AugmentError(f"The pipeline has {len(steps)} steps; at most {MAX_STEPS} are allowed.")
    return [validate_step(step) for step in steps]
