"""A side-by-side table of 2 to 8 networks: totals from analyze(), layer counts, depth, documented accuracy.

The CLI's ``compare`` and the Compare page both read the table from ROWS, and both read the networks asked for
with entries_from, so that a command line's ``--set 2:width_mult=0.5`` and a link's setting mean the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Sequence

from explorer.analysis import ModelReport, RowRole, analyze
from explorer.errors import CompareError, InputShapeError
from explorer.options import quoted
from explorer.units import format_pair, format_shape, human_bytes, parse_shape
from explorer.zoo import classics, get_spec

MIN_NETWORKS = 2
MAX_NETWORKS = 8

CONV_TYPES = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"})
LINEAR_TYPES = frozenset({"Linear"})
LEFT_OUT_OF_THE_DEFAULT = "lenet5_1998"  # the course's LeNet-5 stands for LeNet, so the classics fit in 8 columns


def default_names() -> list[str]:
    """Return what Compare shows before anything is chosen: the course's classics in time order, one LeNet-5."""
    return [name for name in classics() if name != LEFT_OUT_OF_THE_DEFAULT]


@dataclass(frozen=True)
class Entry:
    """One network asked for: its registry name, its options (checked by its spec) and its input (H, W) or None."""

    name: str
    config: dict[str, Any]
    input_size: tuple[int, int] | None = None


@dataclass(frozen=True)
class NetworkSummary:
    """One network's column of the comparison; every number is exact and equal to analyze()'s."""

    architecture: str
    display_name: str
    family: str
    year: int
    config: dict[str, Any]
    input_shape: tuple[int, ...]  # as analyze() reports it: (1, C, H, W)
    total_params: int
    trainable_params: int
    total_macs: int
    conv_layers: int  # calls of convolution modules (Conv1d/2d/3d and their transposes)
    linear_layers: int  # calls of nn.Linear modules
    depth: int  # the most layers with weights on one path from input to output (see network_depth)
    activation_bytes: int
    param_bytes: int
    top1: float | None  # ImageNet-1K acc@1 of torchvision's DEFAULT weights, where they apply (documented_top1)
    receptive_field: tuple[int, int] | None  # of the last layer whose output is a spatial map larger than 1x1
    receptive_field_layer: str | None

    @property
    def total_flops(self) -> int:
        """Return FLOPs, defined as 2 x MACs."""
        return 2 * self.total_macs

    @property
    def frozen_params(self) -> int:
        """Return the parameters that do not require gradients."""
        return self.total_params - self.trainable_params

    @property
    def label(self) -> str:
        """Return the name with what differs from the defaults, e.g. "mobilenet_v2 (width_mult=0.5, 160x160)"."""
        spec = get_spec(self.architecture)
        defaults = spec.resolve_config({})
        changes = [f"{key}={value}" for key, value in self.config.items() if defaults.get(key) != value]
        if tuple(self.input_shape[1:]) != spec.default_input_shape(self.config):
            changes.append(format_shape(self.input_shape[2:], drop_batch=False))
        return f"{self.architecture} ({', '.join(changes)})" if changes else self.architecture

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the issue's keys first (architecture ... top1), then the other fields."""
        return {
            "architecture": self.architecture,
            "config": dict(self.config),
            "input_shape": list(self.input_shape),
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "activation_bytes": self.activation_bytes,
            "param_bytes": self.param_bytes,
            "top1": self.top1,
            "display_name": self.display_name,
            "family": self.family,
            "year": self.year,
            "trainable_params": self.trainable_params,
            "frozen_params": self.frozen_params,
            "conv_layers": self.conv_layers,
            "linear_layers": self.linear_layers,
            "depth": self.depth,
            "receptive_field": list(self.receptive_field) if self.receptive_field else None,
            "receptive_field_layer": self.receptive_field_layer,
        }


def row_key(name: str, call: int) -> str:
    """Return a module call's key in report.graph: the module path, with "@N" for its (N+1)-th call."""
    return f"{name}@{call}" if call else name


def network_depth(report: ModelReport) -> int:
    """Return the most layers with weights on one path from the input to the output of report.graph.

    A node counts 1 when it is a module call doing multiply-accumulates (a convolution, a linear layer,
    attention), 0 otherwise (normalisation, activations, pooling, merges); the longest path is found in one
    pass, the graph being in execution order. This gives the papers' figures: VGG-16 16, ResNet-50 50,
    GoogLeNet 22, MobileNet v1 28, LeNet-5 (1998) 7 (its subsampling layers have trainable weights).
    """
    rows = {row_key(row.name, row.call): row for row in report.layers if row.role is RowRole.MODULE}
    longest: dict[str, int] = {}
    for node in report.graph:
        row = rows.get(node.name) if node.op == "call_module" else None
        weighted = 1 if row is not None and row.macs > 0 else 0
        longest[node.name] = weighted + max((longest.get(name, 0) for name in node.inputs), default=0)
        if node.op == "output":
            return longest[node.name]
    return max(longest.values(), default=0)


def documented_top1(name: str, config: dict[str, Any], input_shape: Sequence[int]) -> float | None:
    """Return the ImageNet-1K top-1 accuracy (%) torchvision documents for ``name``'s DEFAULT weights.

    None where there are no such weights, or where the network asked for is not the one they were trained as:
    an option off its default (num_classes=10, width_mult=0.5) or an input other than the weights' crop.
    ``input_shape`` is (C, H, W) or analyze()'s (1, C, H, W).

    Raises:
        UnknownArchitectureError: ``name`` is not registered.
    """
    from explorer.pretrained import pretrained_weights

    spec = get_spec(name)
    weights = pretrained_weights(name)
    if weights is None or spec.resolve_config(config) != spec.resolve_config({}):
        return None
    if tuple(input_shape)[-3:] != tuple(spec.default_input_shape({})):
        return None
    accuracy = weights.meta.get("_metrics", {}).get("ImageNet-1K", {}).get("acc@1")
    return float(accuracy) if accuracy is not None else None


def summarize(report: ModelReport) -> NetworkSummary:
    """Return the comparison's column for one analysis of a registry network.

    Raises:
        UnknownArchitectureError: the report is not of a registry network (a ready-built module).
    """
    spec = get_spec(report.architecture)
    calls = [row for row in report.layers if row.role is RowRole.MODULE and row.is_leaf]
    spatial = [row for row in calls if row.output_shape is not None and len(row.output_shape) == 4
               and row.output_shape[2] * row.output_shape[3] > 1 and row.receptive_field is not None]
    last = spatial[-1] if spatial else None
    return NetworkSummary(
        architecture=report.architecture,
        display_name=spec.display_name,
        family=spec.family,
        year=spec.year,
        config=dict(report.config),
        input_shape=tuple(report.input_shape),
        total_params=report.total_params,
        trainable_params=report.trainable_params,
        total_macs=report.total_macs,
        conv_layers=sum(row.type in CONV_TYPES for row in calls),
        linear_layers=sum(row.type in LINEAR_TYPES for row in calls),
        depth=network_depth(report),
        activation_bytes=report.activation_bytes,
        param_bytes=report.param_bytes,
        top1=documented_top1(report.architecture, report.config, report.input_shape),
        receptive_field=last.receptive_field if last else None,
        receptive_field_layer=row_key(last.name, last.call) if last else None,
    )


def _check_count(count: int) -> None:
    if not MIN_NETWORKS <= count <= MAX_NETWORKS:
        raise CompareError(f"Compare {MIN_NETWORKS} to {MAX_NETWORKS} networks at a time, not {count}.")


def compare_networks(entries: Sequence[Entry]) -> list[NetworkSummary]:
    """Return one summary per entry, in order (each network analysed on the meta device).

    Raises:
        CompareError: fewer than MIN_NETWORKS or more than MAX_NETWORKS entries.
        ExplorerError: an entry cannot be analysed (unknown name, bad option, input too small).
    """
    _check_count(len(entries))
    return [summarize(analyze_entry(entry)) for entry in entries]


def analyze_entry(entry: Entry) -> ModelReport:
    """Return analyze()'s report of one entry (its input keeps the network's own number of channels).

    Raises:
        ExplorerError: the entry cannot be analysed (unknown name, bad option, input too small).
    """
    shape = None
    if entry.input_size is not None:
        channels = get_spec(entry.name).default_input_shape(entry.config)[0]
        shape = (channels, *entry.input_size)
    return analyze(entry.name, shape, **entry.config)


def pareto_front(summaries: Sequence[NetworkSummary]) -> list[int]:
    """Return the indices of the networks with a top-1 that no other network beats, sorted by MACs.

    Network j beats i when it needs no more MACs and is no less accurate, and is strictly better in one.
    Networks without a documented top-1 are left out.
    """
    rated = [(i, s.total_macs, s.top1) for i, s in enumerate(summaries) if s.top1 is not None]
    front = [i for i, macs, top1 in rated
             if not any(m <= macs and t >= top1 and (m < macs or t > top1) for _, m, t in rated)]
    return sorted(front, key=lambda i: (summaries[i].total_macs, i))


class Row(NamedTuple):
    """One row of the comparison: its label, the table's text, and the exact text of CSV downloads."""

    label: str
    text: Callable[[NetworkSummary], str]
    exact: Callable[[NetworkSummary], str]


def _count(label: str, field: str) -> Row:
    return Row(label, lambda s: f"{getattr(s, field):,}", lambda s: str(getattr(s, field)))


def _receptive_field(s: NetworkSummary) -> str:
    return f"{format_pair(s.receptive_field)} ({s.receptive_field_layer})" if s.receptive_field else "—"


def _rows() -> list[Row]:
    counted = {"Params": "total_params", "Trainable params": "trainable_params", "Frozen params": "frozen_params",
               "MACs": "total_macs", "FLOPs (2 x MACs)": "total_flops", "Conv layers": "conv_layers",
               "Linear layers": "linear_layers", "Depth (weighted layers)": "depth"}
    rows = [Row("Year", lambda s: str(s.year), lambda s: str(s.year)),
            Row("Family", lambda s: s.family, lambda s: s.family),
            Row("Input", lambda s: format_shape(s.input_shape), lambda s: format_shape(s.input_shape))]
    rows += [_count(label, field) for label, field in counted.items()]
    for label, field in (("Activation memory (batch 1)", "activation_bytes"), ("Parameter memory", "param_bytes")):
        rows.append(Row(label, lambda s, f=field: human_bytes(getattr(s, f)), lambda s, f=field: str(getattr(s, f))))
    rows.append(Row("ImageNet top-1 (DEFAULT weights)", lambda s: "—" if s.top1 is None else f"{s.top1:.2f} %",
                    lambda s: "" if s.top1 is None else str(s.top1)))
    rows.append(Row("Receptive field (last spatial layer)", _receptive_field,
                    lambda s: format_pair(s.receptive_field)))
    return rows


# The table's rows, in order: the CLI's formats and the Compare page all read them from here.
ROWS: list[Row] = _rows()


def table_rows(summaries: Sequence[NetworkSummary], exact: bool = False) -> list[list[str]]:
    """Return the comparison as text cells: a header ["", label1, label2, ...], then one list per ROWS entry.

    With ``exact``, counts have no thousands separators, bytes are whole numbers of bytes and top-1 is the
    documented number ("" where none): the form of CSV downloads, which spreadsheets read as numbers.
    """
    header = ["", *(s.label for s in summaries)]
    return [header, *([row.label, *((row.exact if exact else row.text)(s) for s in summaries)] for row in ROWS)]


def parse_settings(items: Sequence[str], names: Sequence[str]) -> list[dict[str, str]]:
    """Return one dict of raw settings per network from items written "A:KEY=VALUE".

    A is a name in ``names`` or its 1-based position ("2:width_mult=0.5"); KEY is an option of that network or
    "input" (HxW). Values stay text: entries_from converts them.

    Raises:
        CompareError: an item without a colon or "=", an empty key, a name not in the list or in it twice,
            a position out of range.
    """
    settings: list[dict[str, str]] = [{} for _ in names]
    for item in items:
        target, colon, setting = item.partition(":")
        key, equals, value = setting.partition("=")
        target, key = target.strip(), key.strip()
        if not colon or not target:
            raise CompareError(f"Settings are written NETWORK:KEY=VALUE, for example 2:width_mult=0.5, "
                               f"not {quoted(item)}.")
        if not equals or not key:
            raise CompareError(f"Settings are written NETWORK:KEY=VALUE, for example {target}:num_classes=10, "
                               f"not {quoted(item)}.")
        if target.isdigit():
            position = int(target)
            if not 1 <= position <= len(names):
                raise CompareError(f"Setting {quoted(item)} names network {position}, but there are only "
                                   f"{len(names)} networks.")
            index = position - 1
        else:
            matches = [i for i, name in enumerate(names) if name == target]
            if not matches:
                raise CompareError(f"Setting {quoted(item)} names {quoted(target)}, which is not among the networks "
                                   f"compared ({', '.join(names)}).")
            if len(matches) > 1:
                raise CompareError(f"{target} appears {len(matches)} times in the comparison, so setting "
                                   f"{quoted(item)} must name it by position, e.g. {matches[1] + 1}:{key}={value}.")
            index = matches[0]
        settings[index][key] = value.strip()
    return settings


def entries_from(names: Sequence[str], settings: Sequence[str]) -> list[Entry]:
    """Return checked entries for ``names`` with their "A:KEY=VALUE" settings (a command line's or a link's).

    Raises:
        CompareError: too few or too many names, or a setting that is not written right (parse_settings).
        UnknownArchitectureError: a name is not registered.
        InvalidOptionError: an option is unknown to its network, mistyped or out of bounds.
        InputShapeError: an input is not written HxW.
    """
    _check_count(len(names))
    entries = []
    for name, raw in zip(names, parse_settings(settings, names)):
        spec = get_spec(name)
        size = None
        if "input" in raw:
            text = raw.pop("input")
            try:
                dims = parse_shape(text)
            except ValueError:
                dims = ()
            if len(dims) != 2:
                raise InputShapeError(f"The input of {name} must be two whole numbers HxW such as 160x160, "
                                      f"not {quoted(text)}.")
            size = (dims[0], dims[1])
        entries.append(Entry(name, spec.resolve_config(raw), size))
    return entries
