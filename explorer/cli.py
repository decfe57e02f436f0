"""Command-line interface: ``python -m explorer`` (or ``convnet-explorer``)
``list | summary | cost | compare | diff | finetune | weights``.

Errors in what the user asked for print one sentence on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from explorer.errors import ExplorerError, InputShapeError, InvalidOptionError
from explorer.units import change, format_shape, parse_shape

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one sentence on stderr and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"error: {message}. Run `python -m {self.prog} --help` for usage.\n")


def input_shape_argument(text: str) -> tuple[int, int, int]:
    """Return (C, H, W) from --input-shape's text, such as ``3,224,224`` or ``3x224x224`` (analyze checks the bounds).

    Raises:
        InputShapeError: the text is not three whole numbers.
    """
    try:
        dims = parse_shape(text)
    except ValueError:
        dims = ()
    if len(dims) != 3:
        raise InputShapeError(f"The input shape must be three whole numbers C,H,W such as 3,224,224, not {text!r}.")
    return dims  # type: ignore[return-value]


MAX_DEPTH = 64


def bounded_int(low: int, high: int) -> Any:
    """Return an argparse type that accepts whole numbers from ``low`` to ``high`` (else one sentence, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text[:40]} is outside {low} to {high}")
        return value

    parse.__name__ = "whole number"
    return parse


def parse_settings(items: Sequence[str]) -> dict[str, str]:
    """Return a dict from ``KEY=VALUE`` strings (values stay strings; the spec converts them).

    Raises:
        InvalidOptionError: an item has no ``=`` or an empty key.
    """
    settings: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidOptionError(f"Options are written KEY=VALUE, for example --set num_classes=10, not {item!r}.")
        settings[key.strip()] = value.strip()
    return settings


def _cmd_list(args: argparse.Namespace) -> int:
    from explorer.zoo import get_spec, list_architectures

    specs = [get_spec(name) for name in list_architectures()]
    if args.format == "json":
        print(json.dumps([{
            "name": s.name, "display_name": s.display_name, "family": s.family, "year": s.year,
            "kind": s.entry_type, "classic": s.classic, "source": s.origin, "input_shape": list(s.input_shape),
            "paper": {"title": s.paper_title, "url": s.paper_url}, "purpose": s.purpose,
            "options": {k: {"type": o.value_type.__name__, "default": o.default, "low": o.low, "high": o.high,
                            "choices": list(o.choices) if o.choices else None} for k, o in s.options.items()},
        } for s in specs], indent=2))
        return 0
    width = max(len(s.name) for s in specs)
    fam_width = max(len(s.family) for s in specs)
    print(f"{'name'.ljust(width)}  {'family'.ljust(fam_width)}  year  kind     input")
    for s in specs:
        shape = format_shape(s.input_shape, drop_batch=False)
        print(f"{s.name.ljust(width)}  {s.family.ljust(fam_width)}  {s.year}  {s.entry_type.ljust(7)}  {shape}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    from explorer.analysis import analyze
    from explorer.formats import render

    shape = input_shape_argument(args.input_shape) if args.input_shape else None
    report = analyze(args.arch, shape, **parse_settings(args.set))
    sys.stdout.write(render(report, args.format, args.depth))
    return 0


def _cmd_cost(args: argparse.Namespace) -> int:
    from explorer.costs import all_settings, compare
    from explorer.formats import cost_table

    settings = {key: getattr(args, key) for key in all_settings()}
    comparison = compare(args.comparison, **settings)
    if args.format == "json":
        print(json.dumps(comparison.to_dict(), indent=2))
    else:
        sys.stdout.write(cost_table(comparison))
    return 0


def aligned(rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Return ``rows`` as text columns two spaces apart: the first ``left`` columns flush left, the rest right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) if i < left else cell.rjust(widths[i]) for i, cell in enumerate(row))
             for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _cmd_compare(args: argparse.Namespace) -> int:
    from explorer.compare import compare_networks, entries_from, pareto_front, table_rows

    summaries = compare_networks(entries_from(args.arch, args.set))
    if args.format == "json":
        print(json.dumps({"architectures": [s.to_dict() for s in summaries]}, indent=2))
    elif args.format == "csv":  # exact numbers: whole bytes, counts without separators (table_rows' exact form)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(table_rows(summaries, exact=True))
        sys.stdout.write(out.getvalue())
    elif args.format == "markdown":
        header, *body = table_rows(summaries)
        lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * len(summaries)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
        print("\n".join(lines))
    else:
        sys.stdout.write(aligned(table_rows(summaries)))
        front = pareto_front(summaries)
        if front:
            print(f"\nBest top-1 for their MACs (Pareto front): {', '.join(summaries[i].label for i in front)}")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from explorer.compare import analyze_entry, entries_from
    from explorer.stages import diff_stages

    entry_a, entry_b = entries_from([args.a, args.b], args.set)
    diff = diff_stages(analyze_entry(entry_a), analyze_entry(entry_b))
    if args.format == "json":
        print(json.dumps(diff.to_dict(), indent=2))
        return 0

    def cells(stage: Any, name: str) -> str:
        return "" if stage is None else f"{getattr(stage, name):,}"

    def difference(pair: Any, name: str) -> str:
        delta = pair.delta(name)
        return "" if delta is None else change(delta)

    rows = [["#", "A", "B", "output A", "output B", "blocks A", "blocks B", "+/-",
             "params A", "params B", "+/-", "MACs A", "MACs B", "+/-"]]
    for pair in diff.pairs:
        rows.append([str(pair.index), pair.a.label if pair.a else "-", pair.b.label if pair.b else "-",
                     format_shape(pair.a.output_shape if pair.a else None),
                     format_shape(pair.b.output_shape if pair.b else None),
                     cells(pair.a, "blocks"), cells(pair.b, "blocks"), difference(pair, "blocks"),
                     cells(pair.a, "params"), cells(pair.b, "params"), difference(pair, "params"),
                     cells(pair.a, "macs"), cells(pair.b, "macs"), difference(pair, "macs")])
    print(f"A = {diff.a}, B = {diff.b}; +/- is B - A; blocks are the stage's units doing multiply-accumulates")
    sys.stdout.write(aligned(rows, left=5))
    print("The stages correspond one-to-one." if diff.corresponds else "The stages do not correspond one-to-one:")
    for note in diff.notes:
        print(f"- {note}")
    return 0


def _progress(prefix: str, total: int) -> Any:
    """Return an on_epoch callback that prints one line per epoch on stderr."""
    def call(result: Any) -> None:
        print(f"{prefix}epoch {result.epoch}/{total}: loss {result.train_loss:.2f}, "
              f"held-out {100 * result.held_out_accuracy:.1f} %", file=sys.stderr, flush=True)
    return call


def _accuracy(value: float) -> float | None:
    """Return ``value`` for JSON (NaN, a class without held-out images, becomes null)."""
    return None if value != value else value


def _check_out(out: str | None) -> None:
    """Refuse an --out path that cannot be written, before any training."""
    if out is None:
        return
    from explorer.errors import TransferError

    path = Path(out)
    if path.is_dir():
        raise TransferError(f"--out names the folder {out[:80]!r}; name a file such as model.safetensors.")
    if not path.parent.is_dir():
        raise TransferError(f"There is no folder {str(path.parent)[:80]!r} to write {path.name[:80]!r} into.")


def _write_out(out: str, model: Any) -> None:
    from explorer.errors import TransferError
    from explorer.transfer.finetune import to_safetensors

    try:
        Path(out).write_bytes(to_safetensors(model))
    except OSError as error:
        raise TransferError(f"The weights could not be written to {out[:80]!r} ({error.strerror or error}).") from None
    print(f"wrote the fine-tuned weights to {out}", file=sys.stderr)


def _config(args: argparse.Namespace, default: Any) -> Any:
    from explorer.transfer.finetune import TrainConfig

    return TrainConfig(optimizer=args.optimizer or default.optimizer,
                       lr=default.lr if args.lr is None else args.lr,
                       epochs=default.epochs if args.epochs is None else args.epochs,
                       batch_size=default.batch_size if args.batch is None else args.batch,
                       seed=default.seed if args.seed is None else args.seed)


def _param_counts(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters()) - trainable


def _finetune_result(arch: str, classes: list[str], freeze: str, model: Any, history: Any,
                     evaluation: Any) -> dict[str, Any]:
    trainable, frozen = _param_counts(model)
    return {
        "architecture": arch, "classes": list(classes), "freeze": freeze,
        "trainable_params": trainable, "frozen_params": frozen,
        "epochs": [{"epoch": e.epoch, "train_loss": e.train_loss, "train_accuracy": e.train_accuracy,
                    "heldout_accuracy": e.held_out_accuracy} for e in history.epochs],
        "heldout_accuracy": evaluation.accuracy,
        "per_class_accuracy": {name: _accuracy(value) for name, value in evaluation.per_class_accuracy.items()},
    }


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _print_finetune(result: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(result, indent=2))
        return
    print(f"{result['architecture']}, freeze {result['freeze']}: {result['trainable_params']:,} trainable, "
          f"{result['frozen_params']:,} frozen parameters; classes {', '.join(result['classes'])}")
    rows = [["epoch", "train loss", "train accuracy", "held-out accuracy"]]
    rows += [[str(e["epoch"]), f"{e['train_loss']:.4f}", _percent(e["train_accuracy"]),
              _percent(e["heldout_accuracy"])] for e in result["epochs"]]
    sys.stdout.write(aligned(rows, left=0))
    print(f"Held-out accuracy: {_percent(result['heldout_accuracy'])}")
    if "scratch_heldout_accuracy" in result:
        print(f"From scratch, same images and budget: {_percent(result['scratch_heldout_accuracy'])}")
    rows = [["class", "held-out accuracy"]]
    rows += [[name, _percent(value)] for name, value in result["per_class_accuracy"].items()]
    sys.stdout.write(aligned(rows))


def _finetune_demo(args: argparse.Namespace, policy: Any, stage: int | None) -> dict[str, Any]:
    from explorer.analysis import analyze
    from explorer.errors import TransferError
    from explorer.stages import find_stages
    from explorer.transfer import demo
    from explorer.transfer.finetune import evaluate
    from explorer.transfer.planner import FreezePolicy

    if args.arch != "lenet5":
        raise TransferError(f"The digits demo fine-tunes the bundled LeNet-5 trained on 0-4, so run it as "
                            f"`finetune lenet5 --demo`, not with {args.arch[:40]!r}.")
    config = _config(args, demo.DEFAULT_CONFIG)
    if args.freeze is None:  # the demo's own default: every stage before the head (the convolutions)
        policy = FreezePolicy.UP_TO_STAGE
    prefixes = {"frozen": "frozen ", "scratch": "scratch "}

    def on_epoch(run: str, result: Any) -> None:
        _progress(prefixes[run], config.epochs)(result)

    result = demo.run_demo(config=config, policy=policy, stage=stage, on_epoch=on_epoch)
    model = result.frozen_model
    if policy is FreezePolicy.UP_TO_STAGE:
        stage = stage if stage is not None else len(find_stages(analyze(model, demo.INPUT_SHAPE))) - 1
        freeze = f"stage:{stage}"
    else:
        freeze = str(policy)
    evaluation = evaluate(model, result.held_x, result.held_y, result.classes)
    output = _finetune_result("lenet5", result.classes, freeze, model, result.frozen, evaluation)
    output["scratch_heldout_accuracy"] = result.scratch.held_out_accuracy
    if args.out:
        _write_out(args.out, model)
    print(f"{result.samples_per_class} images a digit trained on, {result.held_out_images} held out; "
          f"{result.seconds:.1f} s", file=sys.stderr)
    return output


def _finetune_data(args: argparse.Namespace, policy: Any, stage: int | None) -> dict[str, Any]:
    from explorer.transfer import job as jobs
    from explorer.transfer.data import read_image_folder
    from explorer.transfer.finetune import TrainConfig, evaluate, fine_tune
    from explorer.weights import WeightSource, checkpoint_path, pretrained_weights
    from explorer import budget

    weights = pretrained_weights(args.arch)
    cached = weights is not None and checkpoint_path(weights).exists()
    job = jobs.Job(args.arch, {}, WeightSource.PRETRAINED if cached else WeightSource.RANDOM, policy, stage,
                   _config(args, TrainConfig()))
    dataset = read_image_folder(args.data, max_side=jobs.reading_side(job.recipe()))
    train, held = jobs.split(dataset, job.train.seed)
    skipped = f", {len(dataset.skipped)} files skipped" if dataset.skipped else ""
    print(f"{len(dataset)} images in {len(dataset.classes)} classes{skipped}: {len(train)} to train on, "
          f"{len(held)} held out", file=sys.stderr)
    if cached:
        print(f"using torchvision's pretrained {weights} from torch hub's cache", file=sys.stderr)
    else:
        why = (f"torchvision's pretrained weights for {args.arch} are not in torch hub's cache "
               f"({checkpoint_path(weights).parent})" if weights is not None
               else f"{args.arch} has no torchvision pretrained weights")
        print(f"warning: {why}; fine-tuning from random weights", file=sys.stderr)
    cost = jobs.estimate(job, len(dataset.classes), len(train), len(held))
    jobs.check(cost)
    prepared = jobs.prepare(cost, train, held)
    history = fine_tune(prepared.model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y,
                        job.train, _progress("", job.train.epochs), cost.step.label,
                        time_limit=budget.limits().training_seconds)
    if history.limited:
        print(f"warning: {history.limited}", file=sys.stderr)
    evaluation = evaluate(prepared.model, prepared.held_x, prepared.held_y, dataset.classes)
    if args.out:
        _write_out(args.out, prepared.model)
    return _finetune_result(args.arch, dataset.classes, job.freeze, prepared.model, history, evaluation)


def _cmd_finetune(args: argparse.Namespace) -> int:
    from explorer.transfer.planner import FreezePolicy, parse_freeze
    from explorer.zoo import get_spec

    get_spec(args.arch)  # an unknown name: one sentence before anything runs
    policy, stage = parse_freeze(args.freeze) if args.freeze is not None else (FreezePolicy.HEAD_ONLY, None)
    _check_out(args.out)
    if args.demo:
        result = _finetune_demo(args, policy, stage)
    else:
        result = _finetune_data(args, policy, stage)
    _print_finetune(result, args.format)
    return 0


def _cmd_weights(args: argparse.Namespace) -> int:
    from explorer.pretrained import classics_with_weights, install_checkpoint
    from explorer.weights import WeightSource, load_model
    from explorer.zoo import get_spec

    names = args.names or classics_with_weights()
    for name in names:
        get_spec(name)  # an unknown name: one sentence before anything is copied or downloaded
    for name in names:
        path = install_checkpoint(name, Path(args.source) if args.source else None)
        # loaded the way Feature maps loads it, so a truncated or foreign file fails here and not in class
        load_model(name, {}, WeightSource.PRETRAINED)
        print(f"{name}: {path} ({path.stat().st_size / 2**20:.1f} MB), loads")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI's argument parser."""
    from explorer.formats import FORMATS

    parser = _Parser(prog="explorer", description="ConvNet Explorer: exact shapes, parameters and MACs of CNNs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    listing = commands.add_parser("list", help="list every architecture in the registry")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(run=_cmd_list)

    summary = commands.add_parser("summary", help="layer-by-layer shapes, params, MACs and FLOPs")
    summary.add_argument("arch", help="a registry name (see `list`)")
    summary.add_argument("--input-shape", help="C,H,W (default: the architecture's own)")
    summary.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                         help="an architecture option, e.g. --set width_mult=0.5 (repeatable)")
    summary.add_argument("--depth", type=bounded_int(0, MAX_DEPTH), default=None, help="hide rows deeper than N")
    summary.add_argument("--format", choices=FORMATS, default="table")
    summary.set_defaults(run=_cmd_summary)

    from explorer.costs import COMPARISONS, all_settings

    cost = commands.add_parser("cost", help="closed-form cost of the course's convolution tricks")
    cost.add_argument("comparison", choices=COMPARISONS)
    for key, option in all_settings().items():  # the Cost lab's own Option tables: same bounds as the page
        cost.add_argument(f"--{key.replace('_', '-')}", type=bounded_int(int(option.low), int(option.high)),
                          default=None, metavar="N", help=f"{option.help}, {int(option.low)} to {int(option.high)}")
    cost.add_argument("--format", choices=("table", "json"), default="table")
    cost.set_defaults(run=_cmd_cost)

    setting_help = "an option of one network, named or numbered from 1: resnet50:num_classes=10, 2:input=160x160"
    compare = commands.add_parser("compare", help="2 to 8 networks side by side: params, MACs, depth, top-1")
    compare.add_argument("arch", nargs="+", help="registry names (see `list`)")
    compare.add_argument("--set", action="append", default=[], metavar="A:KEY=VALUE", help=setting_help)
    compare.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table")
    compare.set_defaults(run=_cmd_compare)

    diff = commands.add_parser("diff", help="two networks stage by stage (runs at one spatial size)")
    diff.add_argument("a", help="a registry name")
    diff.add_argument("b", help="another (or the same, with other --set options)")
    diff.add_argument("--set", action="append", default=[], metavar="A:KEY=VALUE", help=setting_help)
    diff.add_argument("--format", choices=("table", "json"), default="table")
    diff.set_defaults(run=_cmd_diff)

    finetune = commands.add_parser("finetune", help="fine-tune a network on your images (or the digits demo)")
    finetune.add_argument("arch", help="a registry name (see `list`); lenet5 for --demo")
    source = finetune.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="DIR_OR_ZIP", help="a folder (or zip) of class folders of images")
    source.add_argument("--demo", action="store_true",
                        help="the bundled digits demo: LeNet-5 trained on 0-4 learns 5-9, against scratch")
    finetune.add_argument("--freeze", metavar="head|stage:K|none", default=None,
                          help="what stays frozen (default: head, i.e. everything but the new head; "
                               "--demo: every stage before the head)")
    finetune.add_argument("--epochs", type=bounded_int(1, 1000), default=None, help="default 10 (--demo: 40)")
    finetune.add_argument("--lr", type=float, default=None, help="learning rate (default 0.001; --demo: 0.01)")
    finetune.add_argument("--batch", type=bounded_int(1, 4096), default=None, help="batch size (default 32)")
    finetune.add_argument("--seed", type=bounded_int(0, 2**31 - 1), default=None, help="default 0")
    finetune.add_argument("--optimizer", choices=("adam", "sgd", "plain_sgd"), default=None,
                          help="default adam; sgd has momentum 0.9, plain_sgd none")
    finetune.add_argument("--out", metavar="FILE", help="write the fine-tuned weights (safetensors)")
    finetune.add_argument("--format", choices=("table", "json"), default="table")
    finetune.set_defaults(run=_cmd_finetune)

    weights = commands.add_parser(
        "weights", help="put torchvision's pretrained weights into torch hub's cache ($TORCH_HOME) and check they load")
    weights.add_argument("names", nargs="*", metavar="NAME",
                         help="registry names (default: the course's classics that have pretrained weights)")
    weights.add_argument("--from", dest="source", metavar="DIR",
                         help="copy the checkpoints from this folder instead of downloading them")
    weights.set_defaults(run=_cmd_weights)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv``; return the exit code (0 ok, 2 bad input)."""
    args: Any = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ExplorerError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `| head`
        return 0
