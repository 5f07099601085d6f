"""``bnn table | figure | sensitivity | results-readme``: the results' tables and figures (registries in
:mod:`bnn.report.registry`), a sensitivity recipe's per-layer table, and ``results/README.md``."""

from __future__ import annotations

import argparse
import inspect
import json

from bnn.errors import BnnError


def cmd_table(args: argparse.Namespace) -> None:
    from bnn.config.keys import check_keys
    from bnn.report.targets import get_table
    from bnn.report.writing import write_table

    table = get_table(args.name)
    try:
        settings = json.loads(args.settings)
    except json.JSONDecodeError as exc:
        raise BnnError(f'--settings: not JSON ({exc}); write e.g. \'{{"baseline": ["binary"]}}\'') from None
    if not isinstance(settings, dict):
        raise BnnError(f"--settings: {args.settings} must be a JSON mapping")
    check_keys(settings, list(inspect.signature(table.build).parameters)[1:], "--settings", f"{args.name} setting")
    frame = table.build(args.files, **settings)
    written = write_table(table, frame, args.out)
    print(f"table {args.name}: {len(frame)} rows -> {', '.join(map(str, written))}")


def cmd_figure(args: argparse.Namespace) -> None:
    from bnn.report.targets import get_figure

    get_figure(args.name).draw(args.files, args.out)
    print(f"figure {args.name} -> {args.out}")


def cmd_sensitivity(args: argparse.Namespace) -> None:
    from bnn.io import write_frame
    from bnn.report.sensitivity import sensitivity_table

    table = sensitivity_table(args.run_dirs)
    write_frame(args.out, table)
    print(f"{len(table)} layers -> {args.out}")


def cmd_results_readme(args: argparse.Namespace) -> None:
    from bnn.report.readme import write_results_readme

    write_results_readme(args.files, args.out)
    print(f"{len(args.files)} tables and figures described -> {args.out}")


def register(sub) -> None:
    p = sub.add_parser(
        "table",
        help="write one results table as NAME.csv, .html and .md (e.g. accuracy from the "
        "runs' eval.json, summary from accuracy.csv)",
    )
    p.add_argument("name", help="a registered table: accuracy, summary, ...")
    p.add_argument("--out", required=True, help="the .csv path; the .html and .md are written beside it")
    p.add_argument(
        "--settings",
        default="{}",
        help='config values the table needs, as JSON (comparison: \'{"baseline": ["binary"]}\', the default)',
    )
    p.add_argument("files", nargs="+", help="the table's inputs (what the workflow passes)")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("figure", help="draw one results figure (PNG)")
    p.add_argument("name", help="a registered figure: accuracy, accuracy_vs_size, learning_curves, ...")
    p.add_argument("--out", required=True)
    p.add_argument(
        "files",
        nargs="+",
        help="the figure's inputs: accuracy.csv, metrics.csv files in stage order, or sensitivity.csv files",
    )
    p.set_defaults(func=cmd_figure)

    p = sub.add_parser("sensitivity", help="gather the per-layer stages of a sensitivity recipe into a table")
    p.add_argument("--out", required=True)
    p.add_argument("run_dirs", nargs="+", help="the run folders of the layer stages")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("results-readme", help="write results/README.md: what each table and figure shows")
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+", help="the tables/ and figures/ files of this run")
    p.set_defaults(func=cmd_results_readme)
