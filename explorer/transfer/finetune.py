"""Fine-tuning for real (issue 14): the seeded epochs of explorer.training with frozen layers, a stop, and results.

:func:`fine_tune` trains only the parameters that require gradients, keeps the modules whose parameters are
all frozen in eval mode (so a frozen BatchNorm's running statistics do not move), reports every epoch to a
callback that may stop it (the page's stop button: the model keeps what it learned so far), and asks the
resource budget for a training step's memory (weights, gradients, optimizer state and the activations kept
for the backward pass, predicted on the meta device) before it allocates anything.

:func:`evaluate` gives per-class accuracy, a confusion matrix and the images it got wrong;
:func:`to_safetensors` and :func:`loading_code` are the download and the snippet that loads it.
"""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import nn

from explorer import budget
from explorer.errors import BudgetError, TransferError
from explorer.training import main_logits, train_epoch
from explorer.transfer.planner import OPTIMIZER_STATE_COPIES, Head
from explorer.units import human_bytes, human_seconds

OPTIMIZERS = tuple(OPTIMIZER_STATE_COPIES)  # "adam", "sgd" (momentum 0.9), "plain_sgd"
SGD_MOMENTUM = 0.9
EVAL_BATCH = 256


@dataclass(frozen=True)
class TrainConfig:
    """How to train: the optimizer ("adam", "sgd" with momentum 0.9, or "plain_sgd"), its learning rate, epochs, batch
    size and seed."""

    optimizer: str = "adam"
    lr: float = 1e-3
    epochs: int = 10
    batch_size: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise TransferError(f"The optimizer must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}.")
        if not 0 < self.lr <= 10:
            raise TransferError(f"The learning rate must be above 0 and at most 10, not {self.lr}.")
        if not 1 <= self.epochs <= 1000:
            raise TransferError(f"The number of epochs must be between 1 and 1,000, not {self.epochs}.")
        if not 1 <= self.batch_size <= 4096:
            raise TransferError(f"The batch size must be between 1 and 4,096, not {self.batch_size}.")


@dataclass(frozen=True)
class EpochResult:
    """One epoch: mean training loss and accuracy (as the batches were trained), then loss and accuracy held out."""

    epoch: int
    train_loss: float
    train_accuracy: float
    held_out_loss: float
    held_out_accuracy: float


@dataclass
class History:
    """Every finished epoch, whether the run was stopped before its last one (by the caller or by the time limit,
    which ``limited`` then explains), and the seconds it took."""

    epochs: list[EpochResult] = field(default_factory=list)
    stopped: bool = False
    seconds: float = 0.0
    limited: str = ""  # why the run stopped at the server's time limit, in a sentence ("" when it did not)

    @property
    def held_out_accuracy(self) -> float:
        """Return the held-out accuracy after the last finished epoch (0.0 before any)."""
        return self.epochs[-1].held_out_accuracy if self.epochs else 0.0

    def curve(self) -> list[float]:
        """Return the held-out accuracy of every epoch, first to last."""
        return [result.held_out_accuracy for result in self.epochs]


@dataclass(frozen=True)
class TrainingCost:
    """The memory one training step needs, predicted on the meta device, in bytes."""

    label: str
    weight_bytes: int          # parameters and buffers
    gradient_bytes: int        # one gradient per trainable parameter
    optimizer_bytes: int       # Adam: two moments per trainable parameter; SGD with momentum: one; plain SGD: none
    activation_bytes: int      # what a batch keeps for the backward pass, with the budget's margin (see kept_bytes)
    batch_size: int
    kept_bytes: int = 0        # the live tensors a batch keeps at its peak (as the planner counts them), before
                               # the margin: activation_bytes = LIVE_TENSOR_FACTOR * kept_bytes + WORKSPACE_BYTES

    @property
    def total_bytes(self) -> int:
        """Return everything a training step holds at once."""
        return self.weight_bytes + self.gradient_bytes + self.optimizer_bytes + self.activation_bytes


@dataclass(frozen=True)
class Evaluation:
    """What a model does on held-out images: overall and per-class accuracy, confusion matrix, the wrong ones.

    ``confusion[i][j]`` counts images of class ``i`` predicted as class ``j``; ``wrong`` holds the indices of
    the misclassified images and ``predicted`` every image's predicted class index.
    """

    classes: list[str]
    accuracy: float
    per_class_accuracy: dict[str, float]
    confusion: list[list[int]]
    wrong: list[int]
    predicted: list[int]


# ---------------------------------------------------------------------------------------------
# Freezing and the head (minimal: explorer.transfer.planner owns the policies)


def _module_path(name: str) -> str:
    """Return the Python expression of submodule ``name`` of ``model`` ("classifier.4" -> "model.classifier[4]")."""
    expression = "model"
    for part in name.split("."):
        expression += f"[{part}]" if part.lstrip("-").isdigit() else f".{part}"
    return expression


def frozen_modules(model: nn.Module) -> list[str]:
    """Return the names of the modules with state that fine-tuning keeps in eval mode.

    A module whose own parameters are all frozen; a module with buffers but no parameters of its own (a
    BatchNorm without affine weights) when its parent's parameters are all frozen.
    """
    names = dict(model.named_modules())
    frozen = []
    for name, module in names.items():
        own = list(module.parameters(recurse=False))
        if own:
            if not any(p.requires_grad for p in own):
                frozen.append(name)
        elif list(module.buffers(recurse=False)):
            parent = list(names[name.rpartition(".")[0]].parameters()) if name else []
            if parent and not any(p.requires_grad for p in parent):
                frozen.append(name)
    return frozen


def _train_mode(model: nn.Module, frozen: Sequence[str]) -> None:
    model.train()
    for name in frozen:
        model.get_submodule(name).eval()


# ---------------------------------------------------------------------------------------------
# The budget


def _meta_copy(model: nn.Module) -> nn.Module:
    """Return a copy of ``model`` on the meta device (no memory), requires_grad kept, without copying weights."""
    memo: dict[int, Any] = {}
    for parameter in model.parameters():
        memo[id(parameter)] = nn.Parameter(torch.empty_like(parameter, device="meta"),
                                           requires_grad=parameter.requires_grad)
    for buffer in model.buffers():
        memo[id(buffer)] = torch.empty_like(buffer, device="meta")
    return copy.deepcopy(model, memo)


def _label(model: nn.Module) -> str:
    return getattr(model, "display_name", None) or type(model).__name__


def forward_cost(model: nn.Module, input_shape: tuple[int, ...]) -> budget.ForwardCost:
    """Return what forward passes of real ``model`` at ``input_shape`` (C, H, W) need, predicted on a meta copy."""
    return budget.cost_of(lambda: _meta_copy(model), tuple(input_shape), _label(model))


def training_cost(model: nn.Module, input_shape: tuple[int, ...], batch_size: int, optimizer: str = "adam",
                  label: str | None = None) -> TrainingCost:
    """Return the memory of one training step of ``model`` on batches of ``batch_size`` inputs of ``input_shape``.

    Predicted on a meta copy of the model (nothing is allocated): the tensors kept alive for the backward
    pass per sample (measured at batch 2), times the budget's live-tensor factor, times the batch, plus its
    workspace margin (as explorer.budget predicts a forward pass), and the gradients and optimizer state of
    the trainable parameters.
    """
    meta = _meta_copy(model)
    _train_mode(meta, frozen_modules(meta))
    weights = sum(t.numel() * t.element_size() for t in [*meta.parameters(), *meta.buffers()])
    trainable = sum(p.numel() * p.element_size() for p in meta.parameters() if p.requires_grad)
    # at the batch itself, but at least 2 (BatchNorm in training mode refuses one sample with 1x1 maps), halved
    counted_batch = max(2, batch_size)
    kept = -(-budget.live_peak_bytes(meta, tuple(input_shape), counted_batch, grad=True) * batch_size // counted_batch)
    state = OPTIMIZER_STATE_COPIES[optimizer] * trainable
    return TrainingCost(label or _label(model), weights, trainable, state,
                        budget.WORKSPACE_BYTES + budget.LIVE_TENSOR_FACTOR * kept, batch_size, kept)


def require_training(cost: TrainingCost, optimizer: str = "adam", data_bytes: int = 0) -> None:
    """Refuse a training step whose predicted memory, with ``data_bytes`` of preprocessed images, exceeds the
    server's memory budget.

    Raises:
        BudgetError: the step would need more than the budget, in one sentence that says what to change.
    """
    limit = budget.limits().memory_bytes
    if cost.total_bytes + data_bytes <= limit:
        return
    need = cost.total_bytes + data_bytes
    state = {"adam": "Adam's two moments", "sgd": "SGD's momentum"}.get(optimizer, "the optimizer")
    images = f", {human_bytes(data_bytes)} of preprocessed images" if data_bytes else ""
    # only what would help: a batch above one, images that take a share, gradients and optimizer state that do
    advice = [change for change, helps in (
        ("a smaller batch", cost.batch_size > 1),
        ("fewer images", data_bytes > need // 10),
        ("freeze more layers", cost.gradient_bytes + cost.optimizer_bytes > need // 10)) if helps]
    raise BudgetError(
        f"Training {cost.label} on batches of {cost.batch_size} would need about {human_bytes(need)} "
        f"({human_bytes(cost.weight_bytes)} of weights, {human_bytes(cost.gradient_bytes)} of gradients, "
        f"{human_bytes(cost.optimizer_bytes)} for {state}, {human_bytes(cost.activation_bytes)} for the "
        f"{human_bytes(cost.kept_bytes)} of activations kept for the backward pass, doubled, with workspace"
        f"{images}), more than this server's budget of {human_bytes(limit)}; "
        f"{'use ' + ', '.join(advice) + ' or ' if advice else ''}pick a smaller network.")


# ---------------------------------------------------------------------------------------------
# Training


def _check_data(x: torch.Tensor, y: torch.Tensor, what: str) -> None:
    if len(x) == 0:
        raise TransferError(f"There are no {what} images; add at least one image per class.")
    if len(x) != len(y):
        raise TransferError(f"There are {len(x)} {what} images but {len(y)} labels; give one label per image.")


def _optimizer(parameters: list[nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr)
    return torch.optim.SGD(parameters, lr=config.lr, momentum=SGD_MOMENTUM if config.optimizer == "sgd" else 0.0)


@torch.no_grad()
def _loss_and_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return the mean cross-entropy and the accuracy of ``model`` (in eval mode) on ``x``, in batches."""
    model.eval()
    device = next(model.parameters()).device
    total, correct = 0.0, 0
    for start in range(0, len(x), EVAL_BATCH):
        logits = main_logits(model(x[start: start + EVAL_BATCH].to(device)))
        labels = y[start: start + EVAL_BATCH].to(device)
        total += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
        correct += int((logits.argmax(dim=1) == labels).sum())
    return total / len(x), correct / len(x)


def fine_tune(model: nn.Module, train_x: torch.Tensor, train_y: torch.Tensor, held_x: torch.Tensor,
              held_y: torch.Tensor, config: TrainConfig,
              on_epoch: Callable[[EpochResult], bool | None] | None = None, label: str | None = None,
              on_batch: Callable[[int, int, int], None] | None = None, time_limit: float | None = None) -> History:
    """Train the trainable parameters of ``model`` in place on (``train_x``, ``train_y``); measure on the held-out set.

    Inputs are preprocessed N x C x H x W tensors, labels class indices. Only parameters with requires_grad
    reach the optimizer; modules whose parameters are all frozen stay in eval mode. After every epoch
    ``on_epoch`` gets its :class:`EpochResult`; returning False stops there, and the model keeps what it
    learned. ``on_batch(epoch, done, total)`` follows the images of the epoch under way. With ``time_limit``
    (seconds), a run whose next epoch would end past it, at the pace of the epochs so far, stops before that
    epoch and says why in ``History.limited``. Seeded: the same seed, data and thread count give the same
    model. The model ends in eval mode.

    Returns:
        The :class:`History` of the finished epochs.

    Raises:
        TransferError: no trainable parameters, no training or held-out images, or labels that do not match.
        BudgetError: a training step would not fit the memory budget (refused before anything is allocated),
            the budget stayed busy, or the device ran out of memory.
    """
    _check_data(train_x, train_y, "training")
    _check_data(held_x, held_y, "held-out")
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise TransferError("Every layer is frozen, so there is nothing to train; unfreeze at least the new head.")
    cost = training_cost(model, tuple(train_x.shape[1:]), min(config.batch_size, len(train_x)), config.optimizer,
                         label)
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in (train_x, train_y, held_x, held_y)}
    data_bytes = sum(storages.values())  # what the images hold, once per storage (an expanded view holds little)
    require_training(cost, config.optimizer, data_bytes)
    history = History()
    began = time.perf_counter()
    with budget.running(cost.total_bytes + data_bytes):
        generator = torch.Generator().manual_seed(config.seed)
        torch.manual_seed(config.seed)
        optimiser = _optimizer(parameters, config)
        frozen = frozen_modules(model)
        try:
            for epoch in range(1, config.epochs + 1):
                _train_mode(model, frozen)
                batches = None if on_batch is None else functools.partial(on_batch, epoch)
                train_loss, train_accuracy = train_epoch(model, optimiser, train_x, train_y, config.batch_size,
                                                         generator, on_batch=batches)
                held_loss, held_accuracy = _loss_and_accuracy(model, held_x, held_y)
                result = EpochResult(epoch, train_loss, train_accuracy, held_loss, held_accuracy)
                history.epochs.append(result)
                if on_epoch is not None and on_epoch(result) is False and epoch < config.epochs:
                    history.stopped = True
                    break
                elapsed = time.perf_counter() - began
                if time_limit is not None and epoch < config.epochs and elapsed * (epoch + 1) / epoch > time_limit:
                    history.stopped = True
                    history.limited = (
                        f"Stopped after epoch {epoch} of {config.epochs}: an epoch takes about "
                        f"{human_seconds(elapsed / epoch)}, and the next would end past this server's limit of "
                        f"{human_seconds(time_limit)} for one training run. The model keeps what it learned; "
                        f"use fewer images or epochs, freeze more layers or pick a smaller network.")
                    break
        finally:
            model.eval()
            history.seconds = time.perf_counter() - began
    return history


# ---------------------------------------------------------------------------------------------
# Results


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, classes: Sequence[str]) -> Evaluation:
    """Return per-class accuracy, the confusion matrix and the misclassified images of ``model`` on (``x``, ``y``).

    Runs within the resource budget, in batches. A class without images has accuracy NaN.

    Returns:
        The :class:`Evaluation`.

    Raises:
        TransferError: no images, or labels that do not match the images.
        BudgetError: a batch's forward pass would not fit the memory budget.
    """
    _check_data(x, y, "held-out")
    batch = min(EVAL_BATCH, len(x))
    cost = forward_cost(model, tuple(x.shape[1:]))
    budget.require(cost, batch, "evaluate fewer images at once or pick a smaller network")
    model.eval()
    device = next(model.parameters()).device
    with budget.running(cost.total_bytes(batch)):
        predicted = torch.cat([model(x[start: start + batch].to(device)).argmax(dim=1).cpu()
                               for start in range(0, len(x), batch)])
    n = len(classes)
    truth = y.cpu().long()
    confusion = torch.bincount(truth * n + predicted, minlength=n * n).reshape(n, n)
    counts = confusion.sum(dim=1)
    per_class = {name: (confusion[i, i] / counts[i]).item() if counts[i] else float("nan")
                 for i, name in enumerate(classes)}
    wrong = torch.nonzero(predicted != truth).flatten().tolist()
    return Evaluation(list(classes), (predicted == truth).float().mean().item(), per_class, confusion.tolist(),
                      wrong, predicted.tolist())


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor, classes: Sequence[str], k: int = 5) -> list[tuple[str, float]]:
    """Return the ``k`` most probable of ``classes`` for one preprocessed image (1 x C x H x W), within the budget.

    Raises:
        BudgetError: the forward pass would not fit the memory budget, or the server stayed busy.
    """
    from explorer.activations import top_k

    cost = forward_cost(model, tuple(inputs.shape[1:]))
    budget.require(cost, 1)
    model.eval()
    with budget.running(cost.total_bytes(1)):
        output = main_logits(model(inputs.to(next(model.parameters()).device)))
    return top_k(output.cpu(), classes, k)


def to_safetensors(model: nn.Module) -> bytes:
    """Return the model's state_dict in the safetensors format (every tensor copied to the CPU, contiguous)."""
    from safetensors.torch import save

    return save({name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in model.state_dict().items()})


def loading_code(name: str, config: dict[str, Any], num_classes: int, head: Head,
                 filename: str = "model.safetensors", model: nn.Module | None = None,
                 classes: Sequence[str] | None = None, preprocessing: Sequence[str] | None = None) -> str:
    """Return a Python snippet that rebuilds registry network ``name``, replaces its head and loads ``filename``.

    torchvision networks are built with torchvision's own ``get_model``; the app's hand-written ones
    (LeNet-5, ...) with ``explorer.zoo.build``. The snippet leaves ``model`` in eval mode. Given the fine-tuned
    ``model``, a setting its weights' builder made that the state_dict does not hold is written out too
    (torchvision's pretrained GoogLeNet and Inception v3 convert their inputs: ``transform_input=True``).
    ``classes`` (the outputs' names, in order) and ``preprocessing`` (its steps in words) are written too.

    Raises:
        UnknownArchitectureError: ``name`` is not in the registry.
    """
    from explorer.zoo import get_spec
    from explorer.zoo.registry import Origin

    spec = get_spec(name)
    if getattr(model, "transform_input", False):
        config = {**config, "transform_input": True}
    arguments = "".join(f", {key}={value!r}" for key, value in sorted(config.items()))
    if spec.origin == Origin.TORCHVISION:
        imports, builder = "from torchvision.models import get_model", f"model = get_model({name!r}{arguments})"
    else:
        imports, builder = "from explorer.zoo import build", f"model = build({name!r}{arguments})"
    path = _module_path(head.name)
    if head.type == "Conv2d":  # a 1x1 convolution as the classifier (SqueezeNet)
        layer = f"nn.Conv2d({path}.in_channels, {num_classes}, 1, bias={path}.bias is not None)"
    else:
        layer = f"nn.Linear({path}.in_features, {num_classes}, bias={path}.bias is not None)"
    names = f"classes = {list(classes)!r}  # the outputs, in order\n" if classes is not None else ""
    steps = "".join(f"# {index}. {step}\n" for index, step in enumerate(preprocessing or [], 1))
    return (f"from safetensors.torch import load_file\n"
            f"from torch import nn\n"
            f"{imports}\n\n"
            f"{builder}\n"
            f"{path} = {layer}  # the new head\n"
            f"model.load_state_dict(load_file({filename!r}))\n"
            f"model.eval()\n"
            + (f"{names}" if names else "")
            + (f"# Preprocess an image as it was trained:\n{steps}" if steps else ""))
