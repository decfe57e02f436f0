"""Data augmentation on torchvision.transforms.v2: operations, pipelines, seeded sampling, code and JSON.

A pipeline is a list of steps ``{"op": name, "params": {...}, "p": probability}``. It becomes a
``v2.Compose`` (each step wrapped in ``v2.RandomApply`` when p < 1), runs on uint8 image tensors, and is
seeded per sample so that the same seed gives the same grid. The course's colour shifting (fixed or random
per-channel offsets) and AlexNet's PCA colour augmentation are small v2 transforms written here.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from explorer.errors import ExplorerError, InvalidOptionError
from explorer.options import Option

_RNG_LOCK = threading.Lock()  # v2 draws from torch's global RNG: one seeded sampling at a time

MAX_STEPS = 32
"""The most steps a pipeline may have, wherever it comes from (the editor, a JSON file, a caller).

Every step keeps one intermediate image for the step-by-step view: unbounded, 5,000 mirrorings took 83 s
and 2.6 GB and a 100,000-step file never finished. Real pipelines use fewer than ten steps.
"""

MAX_JSON_BYTES = 64 * 1024
"""The largest pipeline file read, checked before parsing: 32 steps as :func:`to_json` writes them take
under 8 KB."""

_MAX_DIGITS = 18  # no setting comes near 10**18: longer integers are refused before Python converts them
_SHOWN = 40  # characters of a person's text that a message repeats
_STEP_KEYS = ("op", "params", "p")
_PROBABILITY = Option(float, 1.0, low=0.0, high=1.0)


class AugmentError(ExplorerError):
    """A pipeline that cannot be built: unknown operation, bad parameter, unreadable JSON."""


def _show(value: Any) -> str:
    """Return ``value`` as a message repeats it: text quoted and cut to 40 characters, JSON's names otherwise.

    Never the whole of a large value: a message is one sentence whatever a file holds.
    """
    if isinstance(value, str):
        return repr(value[:_SHOWN]) + ("…" if len(value) > _SHOWN else "")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if abs(value) < 10 ** _MAX_DIGITS else f"a number of more than {_MAX_DIGITS} digits"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return repr(value) if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a value of type {type(value).__name__}"


# ---------------------------------------------------------------------------------------------
# The course's colour shifting and AlexNet's PCA colour augmentation


def _as_float(image: torch.Tensor) -> torch.Tensor:
    return image.to(torch.float32)


def _back(image: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return tv_tensors.wrap(image.round().clamp(0, 255).to(torch.uint8), like=like) \
        if isinstance(like, tv_tensors.Image) else image.round().clamp(0, 255).to(torch.uint8)


class ColorShift(v2.Transform):
    """Add fixed offsets (in 0-255 units) to the R, G and B channels, clipping at 0 and 255."""

    def __init__(self, offsets: tuple[float, float, float]) -> None:
        super().__init__()
        self.offsets = tuple(float(o) for o in offsets)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        shift = torch.tensor(self.offsets, dtype=torch.float32).view(3, 1, 1)
        return _back(_as_float(inpt) + shift, inpt)


class RandomColorShift(v2.Transform):
    """Add random offsets, each drawn uniformly from [-range, range] for its channel (R, G, B)."""

    def __init__(self, ranges: tuple[float, float, float]) -> None:
        super().__init__()
        self.ranges = tuple(float(r) for r in ranges)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:  # noqa: D102 - v2.Transform API
        ranges = torch.tensor(self.ranges)
        return {"offsets": (torch.rand(3) * 2 - 1) * ranges}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        return _back(_as_float(inpt) + params["offsets"].view(3, 1, 1), inpt)


def principal_components(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (eigenvalues, eigenvectors as columns) of the RGB covariance of a 3 x H x W image in [0, 1]."""
    pixels = image.reshape(3, -1).to(torch.float64) / 255.0
    covariance = torch.cov(pixels)
    values, vectors = torch.linalg.eigh(covariance)
    return values.clamp(min=0), vectors


def fancy_pca_shift(image: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Return the RGB offset (0-255 units) that AlexNet's PCA augmentation adds for the given alphas."""
    values, vectors = principal_components(image)
    return (vectors @ (alphas.to(torch.float64) * values)) * 255.0


class FancyPCA(v2.Transform):
    """AlexNet's PCA colour augmentation: add sum_i alpha_i * lambda_i * p_i, alpha_i ~ N(0, sigma^2).

    The principal components are those of this image's RGB pixels (Krizhevsky et al. 2012 used the
    whole training set's), so colours move along the directions in which this image already varies.
    """

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = float(sigma)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:  # noqa: D102 - v2.Transform API
        return {"alphas": torch.randn(3) * self.sigma}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        shift = fancy_pca_shift(inpt, params["alphas"]).to(torch.float32).view(3, 1, 1)
        return _back(_as_float(inpt) + shift, inpt)


# ---------------------------------------------------------------------------------------------
# The operations a page offers


@dataclass(frozen=True)
class Operation:
    """An augmentation a person can add: its label, parameters and how to build and print it."""

    name: str
    label: str
    params: dict[str, Option]
    build: Callable[[dict[str, Any]], v2.Transform]
    code: Callable[[dict[str, Any]], str]
    course: bool = False  # named in the course notes


def _pair(low: Any, high: Any) -> tuple[float, float]:
    return (float(low), float(high))


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    Operation("hflip", "Mirror (horizontal flip)", {}, lambda p: v2.RandomHorizontalFlip(p=1.0),
              lambda p: "v2.RandomHorizontalFlip(p=1.0)", course=True),
    Operation("vflip", "Vertical flip", {}, lambda p: v2.RandomVerticalFlip(p=1.0),
              lambda p: "v2.RandomVerticalFlip(p=1.0)"),
    Operation("random_resized_crop", "Random crop, resized (RandomResizedCrop)", {
        "size": Option(int, 224, low=16, high=1024), "scale_min": Option(float, 0.25, low=0.01, high=1.0),
        "scale_max": Option(float, 1.0, low=0.01, high=1.0), "ratio_min": Option(float, 0.75, low=0.1, high=10.0),
        "ratio_max": Option(float, 1.3333, low=0.1, high=10.0)},
        lambda p: v2.RandomResizedCrop(p["size"], scale=_pair(p["scale_min"], p["scale_max"]),
                                       ratio=_pair(p["ratio_min"], p["ratio_max"]), antialias=True),
        lambda p: (f"v2.RandomResizedCrop({p['size']}, scale=({p['scale_min']}, {p['scale_max']}), "
                   f"ratio=({p['ratio_min']}, {p['ratio_max']}), antialias=True)"), course=True),
    Operation("random_crop", "Random crop with padding (RandomCrop)", {
        "size": Option(int, 224, low=8, high=1024), "padding": Option(int, 16, low=0, high=256)},
        lambda p: v2.RandomCrop(p["size"], padding=p["padding"], pad_if_needed=True),
        lambda p: f"v2.RandomCrop({p['size']}, padding={p['padding']}, pad_if_needed=True)", course=True),
    Operation("color_shift", "Colour shift: fixed R, G, B offsets", {
        "red": Option(int, 20, low=-255, high=255), "green": Option(int, 0, low=-255, high=255),
        "blue": Option(int, -20, low=-255, high=255)},
        lambda p: ColorShift((p["red"], p["green"], p["blue"])),
        lambda p: f"ColorShift(({p['red']}, {p['green']}, {p['blue']}))", course=True),
    Operation("random_color_shift", "Colour shift: random R, G, B offsets", {
        "red": Option(int, 30, low=0, high=255), "green": Option(int, 30, low=0, high=255),
        "blue": Option(int, 30, low=0, high=255)},
        lambda p: RandomColorShift((p["red"], p["green"], p["blue"])),
        lambda p: f"RandomColorShift(({p['red']}, {p['green']}, {p['blue']}))", course=True),
    Operation("fancy_pca", "PCA colour augmentation (AlexNet)", {"sigma": Option(float, 0.1, low=0.0, high=2.0)},
              lambda p: FancyPCA(p["sigma"]), lambda p: f"FancyPCA(sigma={p['sigma']})", course=True),
    Operation("rotation", "Rotation", {"degrees": Option(float, 20.0, low=0.0, high=180.0)},
              lambda p: v2.RandomRotation(p["degrees"]), lambda p: f"v2.RandomRotation({p['degrees']})"),
    Operation("affine", "Affine (rotate, translate, scale, shear)", {
        "degrees": Option(float, 10.0, low=0.0, high=180.0), "translate": Option(float, 0.1, low=0.0, high=1.0),
        "scale_min": Option(float, 0.9, low=0.1, high=3.0), "scale_max": Option(float, 1.1, low=0.1, high=3.0),
        "shear": Option(float, 5.0, low=0.0, high=90.0)},
        lambda p: v2.RandomAffine(p["degrees"], translate=(p["translate"], p["translate"]),
                                  scale=_pair(p["scale_min"], p["scale_max"]), shear=p["shear"]),
        lambda p: (f"v2.RandomAffine({p['degrees']}, translate=({p['translate']}, {p['translate']}), "
                   f"scale=({p['scale_min']}, {p['scale_max']}), shear={p['shear']})")),
    Operation("color_jitter", "Colour jitter (brightness, contrast, saturation, hue)", {
        "brightness": Option(float, 0.4, low=0.0, high=2.0), "contrast": Option(float, 0.4, low=0.0, high=2.0),
        "saturation": Option(float, 0.4, low=0.0, high=2.0), "hue": Option(float, 0.1, low=0.0, high=0.5)},
        lambda p: v2.ColorJitter(p["brightness"], p["contrast"], p["saturation"], p["hue"]),
        lambda p: f"v2.ColorJitter({p['brightness']}, {p['contrast']}, {p['saturation']}, {p['hue']})"),
    Operation("grayscale", "Grayscale", {}, lambda p: v2.Grayscale(num_output_channels=3),
              lambda p: "v2.Grayscale(num_output_channels=3)"),
    Operation("gaussian_blur", "Gaussian blur", {
        "kernel": Option(int, 9, choices=(3, 5, 7, 9, 11, 15, 21)), "sigma_max": Option(float, 2.0, low=0.1, high=10.0)},
        lambda p: v2.GaussianBlur(p["kernel"], sigma=(0.1, p["sigma_max"])),
        lambda p: f"v2.GaussianBlur({p['kernel']}, sigma=(0.1, {p['sigma_max']}))"),
    Operation("random_erasing", "Random erasing", {
        "scale_min": Option(float, 0.02, low=0.001, high=1.0), "scale_max": Option(float, 0.2, low=0.001, high=1.0)},
        lambda p: v2.RandomErasing(p=1.0, scale=_pair(p["scale_min"], p["scale_max"]), value=0),
        lambda p: f"v2.RandomErasing(p=1.0, scale=({p['scale_min']}, {p['scale_max']}), value=0)"),
    Operation("autoaugment", "AutoAugment policy", {
        "policy": Option(str, "imagenet", choices=("imagenet", "cifar10", "svhn"))},
        lambda p: v2.AutoAugment(v2.AutoAugmentPolicy(p["policy"])),
        lambda p: f"v2.AutoAugment(v2.AutoAugmentPolicy({p['policy']!r}))"),
    Operation("randaugment", "RandAugment", {
        "num_ops": Option(int, 2, low=1, high=10), "magnitude": Option(int, 9, low=0, high=30)},
        lambda p: v2.RandAugment(num_ops=p["num_ops"], magnitude=p["magnitude"]),
        lambda p: f"v2.RandAugment(num_ops={p['num_ops']}, magnitude={p['magnitude']})"),
    Operation("trivialaugment", "TrivialAugment", {}, lambda p: v2.TrivialAugmentWide(),
              lambda p: "v2.TrivialAugmentWide()"),
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
    if option.kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise AugmentError(f"{op}: {name} must be a number, not {_show(value)}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise AugmentError(f"{op}: {name} must be a finite number, not {_show(value)}.")
        if option.kind is int and isinstance(value, float) and not value.is_integer():
            raise AugmentError(f"{op}: {name} must be a whole number, not {_show(value)}.")
        if abs(value) >= 10 ** _MAX_DIGITS:  # beyond every range, and beyond what float() and str() take
            raise AugmentError(f"{op}: {name} must be {option.describe()}, not {_show(value)}.")
    elif option.kind is str and not isinstance(value, str):
        raise AugmentError(f"{op}: {name} must be {option.describe()}, not {_show(value)}.")
    try:
        return option.parse(name, value)
    except InvalidOptionError:  # its message repeats the whole value: say it with a short one instead
        raise AugmentError(f"{op}: {name} must be {option.describe()}, not {_show(value)}.") from None


def validate_step(step: Any) -> dict[str, Any]:
    """Return the step with every parameter checked and defaults filled in.

    Raises:
        AugmentError: not a step, unknown operation or parameter, or a value of the wrong type or out of range.
    """
    if not isinstance(step, dict):
        raise AugmentError(f"Each pipeline step must be an object with an \"op\" name, not {_show(step)}.")
    if "op" not in step:
        raise AugmentError("Each pipeline step must be an object with an \"op\" name.")
    op = step["op"]
    if not isinstance(op, str):  # a list here once reached a dict lookup: "unhashable type"
        raise AugmentError(f"The \"op\" of each step must be a name, not {_show(op)}.")
    operation = OPERATIONS.get(op)
    if operation is None:
        raise AugmentError(f"Unknown operation {_show(op)}; known: {', '.join(OPERATIONS)}.")
    given = step.get("params")
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise AugmentError(f"The parameters of {op} must be an object, not {_show(given)}.")
    unknown = [key for key in given if key not in operation.params]
    if unknown:
        raise AugmentError(f"{op} has no parameter {_show(unknown[0])}; its parameters are: "
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
        raise AugmentError(f"A pipeline must be a list of steps, not {_show(steps)}.")
    if len(steps) > MAX_STEPS:
        raise AugmentError(f"The pipeline has {len(steps)} steps; at most {MAX_STEPS} are allowed.")
    return [validate_step(step) for step in steps]


def build_step(step: dict[str, Any]) -> v2.Transform:
    """Return the v2 transform of one (validated) step, wrapped in RandomApply when p < 1."""
    transform = OPERATIONS[step["op"]].build(step["params"])
    return transform if step["p"] >= 1.0 else v2.RandomApply([transform], p=step["p"])


def build_pipeline(steps: list[dict[str, Any]]) -> v2.Compose:
    """Return the v2.Compose of ``steps`` (validated first).

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return v2.Compose([build_step(step) for step in validate_steps(steps)])


def _to_tensor(image: Image.Image) -> tv_tensors.Image:
    return tv_tensors.Image(F.pil_to_tensor(image.convert("RGB")))


def _to_pil(tensor: torch.Tensor) -> Image.Image:
    return F.to_pil_image(torch.as_tensor(tensor).to(torch.uint8))


def augment(image: Image.Image, steps: list[dict[str, Any]], seed: int) -> Image.Image:
    """Return one augmented sample of ``image``; the same seed gives the same sample.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return step_by_step(image, steps, seed)[-1][1]


def step_by_step(image: Image.Image, steps: list[dict[str, Any]], seed: int) -> list[tuple[str, Image.Image]]:
    """Return (label, image) after each step of one sample, starting with the original.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps (each keeps an image), or a step is invalid.
    """
    steps = validate_steps(steps)
    transforms = [build_step(step) for step in steps]
    results = [("original", image.convert("RGB"))]
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        current = _to_tensor(image)
        for step, transform in zip(steps, transforms):
            current = transform(current)
            results.append((OPERATIONS[step["op"]].label, _to_pil(current)))
    return results


def sample_grid(image: Image.Image, steps: list[dict[str, Any]], count: int, seed: int) -> list[Image.Image]:
    """Return ``count`` augmented samples; sample i uses seed ``seed * 1000 + i`` (same seed, same grid).

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    pipeline = build_pipeline(steps)
    source = _to_tensor(image)
    samples = []
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        for index in range(count):
            torch.manual_seed(seed * 1000 + index)
            samples.append(_to_pil(pipeline(source)))
    return samples


def to_code(steps: list[dict[str, Any]]) -> str:
    """Return Python code that builds the same pipeline with torchvision.transforms.v2.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    steps = validate_steps(steps)
    lines = ["from torchvision.transforms import v2", ""]
    customs = sorted({name for step in steps for name in ("ColorShift", "RandomColorShift", "FancyPCA")
                      if OPERATIONS[step["op"]].code(step["params"]).startswith(name + "(")})
    if customs:
        lines.insert(1, f"from explorer.augment import {', '.join(customs)}")
    lines.append("pipeline = v2.Compose([")
    for step in steps:
        code = OPERATIONS[step["op"]].code(step["params"])
        lines.append(f"    {code}," if step["p"] >= 1.0 else f"    v2.RandomApply([{code}], p={step['p']}),")
    lines.append("])")
    return "\n".join(lines) + "\n"


def to_json(steps: list[dict[str, Any]]) -> str:
    """Return the pipeline as JSON: {"pipeline": [steps]}.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return json.dumps({"pipeline": validate_steps(steps)}, indent=2) + "\n"


# json's own messages, in words that do not read like a parser's
_JSON_PROBLEMS = {
    "Expecting value": "a value is missing",
    "Extra data": "there is more text after the end",
    "Unterminated string starting at": "a string is not closed",
    "Invalid control character at": "a string holds a line break or control character",
    "Expecting property name enclosed in double quotes": "a name in double quotes is missing",
}


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:  # Python refuses to convert more than 4,300 digits, and none is ever needed
        raise AugmentError(f"The pipeline file holds a number with {digits} digits, far beyond any setting.")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise AugmentError(f"The pipeline file holds the number {text[:_SHOWN]}{'…' if len(text) > _SHOWN else ''}, "
                           f"too large to use.")
    return value


def _json_constant(name: str) -> None:
    raise AugmentError(f"The pipeline file holds {name}; every number in it must be finite.")


def from_json(text: str | bytes) -> list[dict[str, Any]]:
    """Return the steps of a pipeline saved by :func:`to_json`.

    The text is checked before it is parsed (at most :data:`MAX_JSON_BYTES`) and strictly after: only
    ``{"pipeline": [steps]}`` (or the bare list), each step only "op", "params" and "p", numbers finite,
    at most :data:`MAX_STEPS` steps.

    Raises:
        AugmentError: the text is too large, not UTF-8, not JSON, too deeply nested, holds a number that is
            not finite or too long, has no pipeline list or other keys, too many steps, or an invalid step.
        TypeError: ``text`` is neither text nor bytes (a programming error, not a person's).
    """
    if isinstance(text, (bytes, bytearray)):
        size = len(text)
    elif isinstance(text, str):
        size = len(text) if len(text) > MAX_JSON_BYTES else len(text.encode("utf-8", "surrogatepass"))
        text = text.removeprefix("\ufeff")  # a byte-order mark that an editor wrote, already decoded
    else:
        raise TypeError(f"from_json takes text or bytes, not {type(text).__name__}")
    if size > MAX_JSON_BYTES:
        raise AugmentError(f"The pipeline file is larger than {MAX_JSON_BYTES // 1024} KB ({size:,} bytes); "
                           f"a saved pipeline of {MAX_STEPS} steps takes under 8 KB.")
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as error:
        problem = _JSON_PROBLEMS.get(error.msg, error.msg.removesuffix(" at").lower())
        raise AugmentError(f"The pipeline file is not valid JSON (line {error.lineno}, column {error.colno}: "
                           f"{problem}).") from None
    except UnicodeDecodeError:
        raise AugmentError("The pipeline file is not UTF-8 text.") from None
    except RecursionError:
        raise AugmentError("The pipeline file nests lists or objects too deeply.") from None
    if isinstance(data, dict):
        other = [key for key in data if key != "pipeline"]
        if other:
            raise AugmentError(f"The pipeline file has an unknown key {_show(other[0])}; "
                               f"it holds only {{\"pipeline\": [steps]}}.")
        data = data.get("pipeline")
    if not isinstance(data, list):
        raise AugmentError("The pipeline file must hold {\"pipeline\": [steps]}.")
    if len(data) <= MAX_STEPS:
        for step in data:
            other = [key for key in step if key not in _STEP_KEYS] if isinstance(step, dict) else []
            if other:
                raise AugmentError(f"A step of the pipeline has an unknown key {_show(other[0])}; "
                                   f"a step holds only \"op\", \"params\" and \"p\".")
    return validate_steps(data)


def rgb_histograms(image: Image.Image) -> dict[str, np.ndarray]:
    """Return 256-bin histograms of the R, G and B channels."""
    array = np.asarray(image.convert("RGB"))
    return {colour: np.bincount(array[..., index].ravel(), minlength=256)
            for index, colour in enumerate(("red", "green", "blue"))}
