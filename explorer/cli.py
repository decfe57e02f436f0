"""Command-line interface: ``python -m explorer list | summary``.

Errors in what the user asked for print one sentence on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from explorer.errors import ExplorerError, InputShapeError, InvalidOptionError
from explorer.units import format_shape, parse_shape

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
