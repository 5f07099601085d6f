"""The ``bnn`` command. Each Snakemake rule calls one subcommand with plain arguments, so every job can be re-run
by hand with the same command line. User errors print one line (``bnn: error: ...``) and exit with 2.

Subcommands by module: :mod:`bnn.cli.stages` (prepare, train, evaluate, plan), :mod:`bnn.cli.results` (table,
figure, sensitivity, results-readme), :mod:`bnn.cli.models` (summary, export), :mod:`bnn.cli.deploy` (deploy).
"""

from __future__ import annotations

import argparse
import sys

from bnn.cli import deploy, models, results, stages
from bnn.errors import BnnError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bnn", description="bnn-flow: train and compare binary neural networks")
    sub = top.add_subparsers(dest="command", required=True)
    for module in (stages, results, models, deploy):
        module.register(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except BnnError as exc:
        print(f"bnn: error: {exc}", file=sys.stderr)
        return 2
    return 0
