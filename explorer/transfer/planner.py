"""The transfer-learning planner (issue 14): which head is replaced, what a freeze policy freezes, and what a
training step then costs, all read from ``analyze()`` on the meta device (no weights, no compute).

Definitions (every number is per training step at ``batch`` samples, float32 as built):

- **Head**: the layer the network's class scores come from. Walking back from the output through
  layers without parameters (dropout, pooling, flatten, activations), the first layer with parameters
  must be a ``Linear`` whose outputs are the network's classes, or a 1x1 ``Conv2d`` whose output channels
  are (SqueezeNet's classifier); anything else (LeNet-1998's RBF units, a block's last BatchNorm, a
  network whose output is a map) has no head to replace. Found from the dataflow graph, never by name.
- **Stages**: :func:`explorer.stages.find_stages` of the network with its new head; a parameter belongs
  to the stage of the unit that holds it, so per-stage parameters add up to the totals.
- **Freeze policies**: ``HEAD_ONLY`` freezes every parameter but the new head's; ``UP_TO_STAGE`` k freezes
  the parameters of stages 1..k; ``NOTHING`` freezes none. The new head is never frozen (it starts
  random), so k = the last stage freezes what ``HEAD_ONLY`` does. A policy sets ``requires_grad`` on every
  parameter: False where it freezes, True elsewhere.
- **Forward MACs**: ``analyze()``'s (every layer runs forward, frozen or not).
- **Backward MACs**: the multiply-accumulates autograd runs for one backward pass with the policy
  applied, counted per operation on the meta device with PyTorch's FLOP formulas (as ``analyze()`` counts
  the forward). For a convolution or linear layer of forward MACs M that comes down to: M for the
  gradient of its weights when they are trainable, plus M for the gradient of its input when anything
  before it is trainable (the first trainable layer, and every frozen layer before it, pass nothing back).
  A product of two activations (attention) needs M for each operand that needs a gradient. Each backward
  operation counts in the stage of the forward operation it differentiates. (torch.utils.flop_counter
  counts a grouped convolution's backward as if it were dense; here it is counted as its forward is.)
- **Memory**: parameter bytes (all of them are read), gradient bytes = trainable bytes, optimizer state =
  ``OPTIMIZER_STATE_COPIES`` x trainable bytes plus, for Adam, its step count (one float32 per trainable
  tensor), as ``torch.optim`` keeps them; activation bytes = :func:`explorer.budget.live_peak_bytes` with
  ``grad=True`` (the peak of live tensors during the forward pass, autograd's saved tensors included),
  with the policy applied and with nothing frozen: the difference is what the frozen prefix need not keep.

The network is analysed in eval mode, as ``analyze()`` does (train-mode BatchNorm and Dropout cost no MACs).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from explorer import budget
from explorer.analysis import ModelReport, RowRole, analyze
from explorer.analysis.dataflow import first_tensor
from explorer.errors import ExplorerError, TransferError
from explorer.meta_shortcuts import run_on_meta
from explorer.stages import Stage, find_stages
from explorer.zoo import build, get_spec

__all__ = [
    "FreezePolicy", "Head", "Plan", "StagePlan", "OPTIMIZER_STATE_COPIES", "MAX_CLASSES",
    "find_head", "replace_head", "stage_of_parameters", "frozen_parameters", "apply_policy",
    "training_step_macs", "plan", "parse_freeze",
]

# Copies of the trainable parameters an optimizer keeps: Adam its two moments, SGD with momentum (0.9, as
# explorer.transfer.finetune trains) its momentum buffer, plain SGD nothing.
OPTIMIZER_STATE_COPIES = {"adam": 2, "sgd": 1, "plain_sgd": 0}
ADAM_STEP_BYTES = 4  # torch.optim.Adam keeps its step count as one float32 scalar per parameter tensor
MAX_CLASSES = 100_000


class FreezePolicy(StrEnum):
    """What a fine-tuning run freezes; the values are the CLI's ``--freeze`` words (``stage:K`` for a stage)."""

    HEAD_ONLY = "head"  # everything but the new head
    UP_TO_STAGE = "stage"  # the parameters of stages 1..k
    NOTHING = "none"  # nothing: every parameter trains


def parse_freeze(text: str) -> tuple[FreezePolicy, int | None]:
    """Return the policy and stage of a ``--freeze`` value: "head", "none" or "stage:K".

    Raises:
        TransferError: the text is none of those.
    """
    word, _, number = text.strip().lower().partition(":")
    if word == FreezePolicy.UP_TO_STAGE and number.strip().isdigit():
        return FreezePolicy.UP_TO_STAGE, int(number)
    if word in (FreezePolicy.HEAD_ONLY, FreezePolicy.NOTHING) and not number:
        return FreezePolicy(word), None
    raise TransferError(f"The freeze policy must be head, none or stage:K (K a stage number), not {text[:40]!r}.")


@dataclass(frozen=True)
class Head:
    """The layer the class scores come from: its module path, type and shape (features, or channels of a 1x1 conv)."""

    name: str
    type: str  # "Linear", or "Conv2d" for a 1x1 convolution
    in_features: int
    out_features: int

    @property
    def shape(self) -> str:
        """Return the head's shape as read, e.g. "512 -> 1000"."""
        return f"{self.in_features} -> {self.out_features}"


def _key(name: str, call: int) -> str:
    return f"{name}@{call}" if call else name


def find_head(report: ModelReport) -> Head:
    """Return the head of an analysed network: the first layer with parameters on the way back from the output.

    Only layers without parameters may follow it; it must be a Linear layer (or a 1x1 Conv2d) whose outputs
    are the network's class scores (see the module's docstring).

    Raises:
        TransferError: the output is not one score per class, or it does not come from one such layer.
    """
    arch = report.architecture
    shape = report.output_shape
    if shape is None or len(shape) != 2:
        shown = "x".join(str(n) for n in shape[1:]) if shape else "nothing"
        raise TransferError(f"{arch} outputs {shown} per sample, not one score per class, "
                            f"so it has no classification head to replace.")
    rows = {_key(row.name, row.call): row for row in report.layers if row.role is RowRole.MODULE}
    has_params = {row.name for row in report.layers if row.params}
    nodes = {node.name: node for node in report.graph if node.op != "output"}  # a module may be called "output"
    output = next(node for node in reversed(report.graph) if node.op == "output")
    found: list[str] = []
    waiting, seen = list(output.inputs), set()
    while waiting:
        key = waiting.pop()
        if key in seen or key not in nodes:
            continue
        seen.add(key)
        node = nodes[key]
        if node.op == "call_module" and rows[key].name in has_params:
            found.append(key)
        else:
            waiting.extend(node.inputs)
    if len(found) != 1:
        named = ", ".join(sorted(found)) or "no layer with parameters"
        raise TransferError(f"{arch}'s output combines {named}, so it has no single head to replace.")
    row = rows[found[0]]
    classes = shape[1]
    if row.type == "Linear" and row.output_shape and row.output_shape[-1] == classes and row.input_shape:
        return Head(row.name, "Linear", row.input_shape[-1], classes)
    if (row.type == "Conv2d" and row.kernel_size == (1, 1) and row.groups == 1 and row.output_shape
            and row.output_shape[1] == classes and row.input_shape):
        return Head(row.name, "Conv2d", row.input_shape[1], classes)
    raise TransferError(f"{arch}'s class scores come from {row.name} ({row.type}), not from a Linear layer, "
                        f"so it has no head to replace.")


def _check_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 1 <= num_classes <= MAX_CLASSES:
        raise TransferError(f"The number of new classes must be a whole number from 1 to {MAX_CLASSES:,}, "
                            f"not {num_classes!r}.")
    return num_classes


def replace_head(model: nn.Module, head: Head, num_classes: int) -> nn.Module:
    """Put a new, randomly initialised head with ``num_classes`` outputs in place of ``head``; return it.

    The new layer has the old one's type, inputs, bias, device and dtype (meta stays meta).

    Raises:
        TransferError: ``num_classes`` is out of range, or ``model`` has no such layer of that type.
    """
    _check_classes(num_classes)
    parent_name, _, child = head.name.rpartition(".")
    try:
        parent = model.get_submodule(parent_name)
        old = parent.get_submodule(child)
    except AttributeError:
        raise TransferError(f"The network has no layer named {head.name!r} to replace.") from None
    factory = {"device": old.weight.device, "dtype": old.weight.dtype} if isinstance(old.weight, torch.Tensor) else {}
    bias = getattr(old, "bias", None) is not None
    if head.type == "Linear" and isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=bias, **factory)
    elif head.type == "Conv2d" and isinstance(old, nn.Conv2d):
        new = nn.Conv2d(old.in_channels, num_classes, 1, bias=bias, **factory)
    else:
        raise TransferError(f"The layer {head.name} is a {type(old).__name__}, not the {head.type} head to replace.")
    setattr(parent, child, new)  # a Sequential's "6" is an attribute name too, so order is kept
    return new


def stage_of_parameters(model: nn.Module, report: ModelReport, stages: list[Stage] | None = None) -> dict[str, int]:
    """Return the stage index (from 1) of each parameter of ``model``, by name, ``report`` being its analysis.

    A parameter belongs to the unit whose module path is the longest prefix of its module's path (a
    container's "<own parameters>" row holds what none of its children's rows does), as analyze() counts it.
    """
    stages = find_stages(report) if stages is None else stages
    owners: dict[str, int] = {}  # module path of a unit -> its stage (the first stage that names it)
    for stage in stages:
        for unit in stage.units:
            path = unit.partition("@")[0]
            if path.endswith("<ops>"):
                continue
            if path.endswith("<own parameters>"):
                path = path[: -len("<own parameters>")].rstrip(".")
            owners.setdefault(path, stage.index)
    last = stages[-1].index
    result: dict[str, int] = {}
    for name, _ in model.named_parameters():
        path = name.rpartition(".")[0]
        while path not in owners and path:
            path = path.rpartition(".")[0]
        result[name] = owners.get(path, last)
    return result


def frozen_parameters(model: nn.Module, report: ModelReport, policy: FreezePolicy | str,
                      stage: int | None = None) -> set[str]:
    """Return the names of the parameters ``policy`` freezes in ``model`` (analysed as ``report``).

    Raises:
        TransferError: the network has no head, or UP_TO_STAGE's ``stage`` is missing or not a stage.
    """
    policy = FreezePolicy(policy)
    head = find_head(report)
    names = [name for name, _ in model.named_parameters()]
    in_head = {name for name in names if name.startswith(head.name + ".")}
    if policy is FreezePolicy.NOTHING:
        return set()
    if policy is FreezePolicy.HEAD_ONLY:
        return set(names) - in_head
    stages = find_stages(report)
    count = len(stages)
    if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= count:
        raise TransferError(f"{report.architecture} has {count} stages, so the stage to freeze up to must be "
                            f"a number from 1 to {count}, not {stage!r}.")
    where = stage_of_parameters(model, report, stages)
    return {name for name in names if where[name] <= stage} - in_head


def apply_policy(model: nn.Module, report: ModelReport, policy: FreezePolicy | str,
                 stage: int | None = None) -> set[str]:
    """Set ``requires_grad`` on every parameter of ``model``: False where ``policy`` freezes, True elsewhere.

    Returns:
        The names of the frozen parameters.

    Raises:
        TransferError: see :func:`frozen_parameters`.
    """
    frozen = frozen_parameters(model, report, policy, stage)
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in frozen)
    return frozen


# ---------------------------------------------------------------------------------------------
# Backward multiply-accumulates, stage by stage


def _conv_backward_macs(args: tuple, kwargs: dict) -> int:
    """Return the MACs of aten.convolution_backward: the forward's MACs for each gradient it computes."""
    grad_output, inputs, weight = args[0], args[1], args[2]
    transposed, output_mask = args[7], args[10]
    spatial = inputs.shape[2:] if transposed else grad_output.shape[2:]
    forward = grad_output.shape[0] * weight.numel() * int(torch.Size(spatial).numel())
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


class _StepCounter(TorchDispatchMode):
    """Counts MACs per label (a stage index, or "forward") with PyTorch's FLOP formulas, as analyze() does."""

    def __init__(self) -> None:
        super().__init__()
        self.label: Any = "forward"
        self.macs: dict[Any, int] = defaultdict(int)

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        packet = func._overloadpacket
        out = run_on_meta(packet, func, args, kwargs)
        if packet is torch.ops.aten.convolution_backward:
            self.macs[self.label] += _conv_backward_macs(args, kwargs)
        else:
            formula = flop_registry.get(packet)
            if formula is not None:
                self.macs[self.label] += formula(*args, **kwargs, out_val=out) // 2
        return out


def training_step_macs(model: nn.Module, report: ModelReport, batch: int = 1) -> tuple[int, dict[int, int]]:
    """Return the forward MACs and the backward MACs per stage of one training step of meta ``model``.

    ``report`` is the analysis of ``model`` (its stages); ``requires_grad`` is taken as it is set. The loss's
    own gradient (a sum here, cross-entropy in training) has no multiply-accumulates. Every stage has an entry.
    """
    stages = find_stages(report)
    unit_stage: dict[str, int] = {}
    for stage in stages:
        for unit in stage.units:
            name, _, call = unit.partition("@")
            if name.endswith("<ops>"):  # MACs a container computes itself: labelled when the container returns
                name = name[: -len("<ops>")].rstrip(".")
            unit_stage.setdefault(_key(name, int(call or 0)), stage.index)
    counter = _StepCounter()
    labels: dict[Any, int] = {}

    def label(value: Any, stage_index: int) -> None:
        tensor = first_tensor(value)
        waiting = [tensor.grad_fn] if tensor is not None and tensor.grad_fn is not None else []
        while waiting:
            node = waiting.pop()
            if node is None or node in labels:
                continue
            labels[node] = stage_index
            node.register_prehook(lambda grads, s=stage_index: setattr(counter, "label", s))
            waiting.extend(following for following, _ in node.next_functions)

    names = {module: name for name, module in model.named_modules()}
    calls: dict[nn.Module, int] = defaultdict(int)

    def after(module: nn.Module, args: Any, output: Any) -> None:
        key = _key(names[module], calls[module])
        calls[module] += 1
        if key in unit_stage:
            label(output, unit_stage[key])

    handles = [module.register_forward_hook(after) for module in names]
    sample = torch.empty(batch, *report.input_shape[1:], device="meta")
    try:
        with sdpa_kernel(SDPBackend.MATH), counter, torch.enable_grad():
            output = first_tensor(model(sample))
            label(output, stages[-1].index)  # what ran after the last unit (a flatten) belongs to the head
            if output is None or output.grad_fn is None:
                raise TransferError("Nothing in this plan trains, so there is no backward pass to count.")
            output.sum().backward()
    finally:
        for handle in handles:
            handle.remove()
    forward = counter.macs.pop("forward", 0)
    return forward, {stage.index: counter.macs.get(stage.index, 0) for stage in stages}


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class StagePlan:
    """One stage under a policy: its parameters, trainable and frozen, and its MACs forward and backward."""

    index: int
    label: str
    params: int
    trainable_params: int
    frozen_params: int
    forward_macs: int
    backward_macs: int


@dataclass(frozen=True)
class Plan:
    """What fine-tuning a registry network under a freeze policy changes and costs (see the module's docstring)."""

    architecture: str
    config: dict[str, Any]
    input_shape: tuple[int, ...]  # (batch, C, H, W)
    num_classes: int
    policy: FreezePolicy
    stage: int | None
    optimizer: str
    head: Head  # the layer replaced, as the network was built
    new_head: Head  # what replaces it
    stages: tuple[StagePlan, ...]
    total_params: int
    trainable_params: int
    frozen_params: int
    forward_macs: int
    backward_macs: int
    parameter_bytes: int
    gradient_bytes: int
    optimizer_state_bytes: int
    activation_bytes: int  # peak live tensors of the forward pass, saved ones kept, with the policy applied
    activation_bytes_unfrozen: int  # the same with nothing frozen

    @property
    def training_step_macs(self) -> int:
        """Return forward plus backward MACs."""
        return self.forward_macs + self.backward_macs

    @property
    def activation_bytes_saved(self) -> int:
        """Return the activation bytes the frozen prefix need not keep."""
        return self.activation_bytes_unfrozen - self.activation_bytes

    @property
    def training_bytes(self) -> int:
        """Return parameters + gradients + optimizer state + activations of one training step."""
        return self.parameter_bytes + self.gradient_bytes + self.optimizer_state_bytes + self.activation_bytes

    def rows(self) -> list[dict[str, Any]]:
        """Return the page's table: one dict per stage, then a "total" row."""
        rows = [{"stage": s.index, "where": s.label, "params": s.params, "trainable": s.trainable_params,
                 "frozen": s.frozen_params, "forward MACs": s.forward_macs, "backward MACs": s.backward_macs}
                for s in self.stages]
        rows.append({"stage": "total", "where": "", "params": self.total_params, "trainable": self.trainable_params,
                     "frozen": self.frozen_params, "forward MACs": self.forward_macs,
                     "backward MACs": self.backward_macs})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: every field, the derived totals, and one dict per stage."""
        item = asdict(self)
        item["policy"] = str(self.policy)
        item["input_shape"] = list(self.input_shape)
        item["stages"] = [asdict(s) for s in self.stages]
        item["training_step_macs"] = self.training_step_macs
        item["activation_bytes_saved"] = self.activation_bytes_saved
        item["training_bytes"] = self.training_bytes
        return item


def _build_on_meta(name: str, config: dict[str, Any]) -> nn.Module:
    """Return the registry's network on the meta device (built on the CPU and moved when it reads tensor values)."""
    try:
        with torch.device("meta"):
            return build(name, **config)
    except ExplorerError:
        raise
    except (NotImplementedError, RuntimeError):
        return build(name, **config).to("meta")


def _bytes(parameters: list[nn.Parameter]) -> int:
    return sum(p.numel() * p.element_size() for p in parameters)


def planned_model(name: str, config: dict[str, Any] | None, num_classes: int, policy: FreezePolicy | str,
                  stage: int | None = None,
                  input_shape: tuple[int, int, int] | None = None) -> tuple[nn.Module, ModelReport, Head]:
    """Return registry network ``name`` on the meta device with a new head for ``num_classes`` and ``policy`` applied,
    its analysis at ``input_shape`` (requires_grad as the policy set it) and the head that was replaced.

    What a real model gets from :func:`apply_plan` with the same head and frozen names: the plan is made here,
    without memory, and a real network only follows it.

    Raises:
        ExplorerError: an unknown name, invalid options or an input the network cannot take.
        TransferError: as :func:`find_head`, :func:`replace_head` and :func:`apply_policy` raise.
    """
    spec = get_spec(name)
    resolved = spec.resolve_config(config or {})
    shape = tuple(input_shape or spec.default_input_shape(resolved))
    model = _build_on_meta(name, resolved)
    original = analyze(model, shape)
    original.architecture = name
    head = find_head(original)
    replace_head(model, head, num_classes)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    unfrozen = analyze(model, shape)
    unfrozen.architecture = name
    apply_policy(model, unfrozen, policy, stage)
    report = analyze(model, shape)  # requires_grad as the policy set it: the counts are analyze()'s
    report.architecture = name
    return model, report, head


def apply_plan(model: nn.Module, head: Head, num_classes: int, frozen: set[str] | frozenset[str]) -> None:
    """Give real ``model`` (the network :func:`planned_model` planned) its new head and freeze the parameters named
    in ``frozen``; every other parameter trains. The new head is initialised from torch's current random state.

    Raises:
        TransferError: ``model`` has no such head, or lacks a parameter the plan freezes (another network).
    """
    replace_head(model, head, num_classes)
    names = {name for name, _ in model.named_parameters()}
    missing = sorted(set(frozen) - names)
    if missing:
        raise TransferError(f"The network has no parameter {missing[0]!r} that the plan freezes, so the plan was made "
                            f"for another network.")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name not in frozen)


def plan(name: str, config: dict[str, Any] | None, num_classes: int, policy: FreezePolicy | str,
         stage: int | None = None, optimizer: str = "adam", batch: int = 1,
         input_shape: tuple[int, int, int] | None = None) -> Plan:
    """Return the plan of fine-tuning registry network ``name`` for ``num_classes`` classes under ``policy``.

    Builds on the meta device, replaces the head, applies the policy and reads everything from analyze()
    (parameters, forward MACs, stages) and from one counted backward pass; MACs and activations are for
    ``batch`` samples at ``input_shape`` (the network's default unless given). ``stage`` (from 1) is read
    only under ``UP_TO_STAGE``; ``optimizer`` is a key of ``OPTIMIZER_STATE_COPIES``.

    Raises:
        ExplorerError: an unknown name, invalid options or an input the network cannot take.
        TransferError: the network has no head to replace, the stage is not one of its stages, the number of
            classes, the optimizer or the batch is out of range.
    """
    _check_classes(num_classes)
    if optimizer not in OPTIMIZER_STATE_COPIES:
        raise TransferError(f"The optimizer must be one of {', '.join(OPTIMIZER_STATE_COPIES)}, not {optimizer!r}.")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 4096:
        raise TransferError(f"The batch size must be a whole number from 1 to 4,096, not {batch!r}.")
    policy = FreezePolicy(policy)
    spec = get_spec(name)
    resolved = spec.resolve_config(config or {})
    shape = tuple(input_shape or spec.default_input_shape(resolved))
    model, report, head = planned_model(name, resolved, num_classes, policy, stage, shape)
    frozen = [parameter for parameter in model.parameters() if not parameter.requires_grad]
    for parameter in frozen:  # the same network with nothing frozen, for what the frozen prefix saves
        parameter.requires_grad_(True)
    activation_unfrozen = budget.live_peak_bytes(model, shape, batch, grad=True)
    for parameter in frozen:
        parameter.requires_grad_(False)
    forward, backward = training_step_macs(model, report, batch)
    if forward != report.total_macs * batch:  # the counted pass must be the analysed one
        raise AssertionError(f"{name}: counted {forward} forward MACs, analyze() {report.total_macs * batch}")
    rows = {_key(row.name, row.call): row for row in report.layers}
    stages = tuple(StagePlan(
        index=s.index, label=s.label, params=s.params,
        trainable_params=sum(rows[unit].trainable_params for unit in s.units),
        frozen_params=s.params - sum(rows[unit].trainable_params for unit in s.units),
        forward_macs=s.macs * batch, backward_macs=backward[s.index]) for s in find_stages(report))
    trainable = [p for p in model.parameters() if p.requires_grad]
    trainable_bytes = _bytes(trainable)
    state = OPTIMIZER_STATE_COPIES[optimizer] * trainable_bytes + (ADAM_STEP_BYTES * len(trainable)
                                                                   if optimizer == "adam" else 0)
    return Plan(
        architecture=name, config=resolved, input_shape=(batch, *shape), num_classes=num_classes, policy=policy,
        stage=stage if policy is FreezePolicy.UP_TO_STAGE else None, optimizer=optimizer,
        head=head, new_head=Head(head.name, head.type, head.in_features, num_classes), stages=stages,
        total_params=report.total_params, trainable_params=report.trainable_params,
        frozen_params=report.frozen_params, forward_macs=report.total_macs * batch,
        backward_macs=sum(backward.values()), parameter_bytes=report.param_bytes, gradient_bytes=trainable_bytes,
        optimizer_state_bytes=state,
        activation_bytes=budget.live_peak_bytes(model, shape, batch, grad=True),
        activation_bytes_unfrozen=activation_unfrozen,
    )
