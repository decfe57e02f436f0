"""Command-line interface: ``python -m explorer list | summary | cost | compare | diff``.

Errors in what the user asked for print one sentence on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
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
