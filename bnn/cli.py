"""The ``bnn`` command: prepare | train | evaluate | aggregate | sensitivity | plot | plan.

Each Snakemake rule calls one of these with plain arguments, so every stage can be re-run by hand
with the same command line. User errors print one line (``bnn: error: ...``) and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from bnn.errors import BnnError


def cmd_prepare(args: argparse.Namespace) -> None:
    from bnn.data import prepare

    val_size = float(args.val_size) if "." in args.val_size else int(args.val_size)
    meta = prepare(args.dataset, args.out_dir, args.data_root, args.split_seed, val_size, json.loads(args.options))
    print(f"prepared {args.dataset}: {meta['splits']} shape {meta['shape']} -> {args.out_dir}")


def cmd_train(args: argparse.Namespace) -> None:
    from bnn.io import read_config
    from bnn.train import run_stage

    spec = read_config(args.spec)
    if args.threads:
        spec["threads"] = args.threads
    result = run_stage(spec, args.run_dir)
    print(f"trained {args.run_dir}: {result['epochs']} epochs in {result['seconds']:.1f}s, "
          f"final val acc {result['final'].get('val_acc')}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from bnn.evaluate import evaluate
    from bnn.io import write_json

    record = evaluate(args.checkpoint, args.data)
    write_json(args.out, record)
    print(f"{args.checkpoint}: top1 {record['top1']:.2f}% top5 {record['top5']:.2f}% "
          f"W{record['weight_bits']}/A{record['act_bits']} binary check ok")


def cmd_aggregate(args: argparse.Namespace) -> None:
    from bnn.report.tables import accuracy_table, write_table

    table = accuracy_table(args.eval_files)
    write_table(table, args.out)
    print(f"{len(table)} runs -> {args.out}")


def cmd_sensitivity(args: argparse.Namespace) -> None:
    from bnn.report.sensitivity import sensitivity_table, write_sensitivity

    table = sensitivity_table(args.run_dirs)
    write_sensitivity(table, args.out)
    print(f"{len(table)} layers -> {args.out}")


def cmd_plot(args: argparse.Namespace) -> None:
    import pandas as pd

    from bnn.report.figures import accuracy_bars

    accuracy_bars(pd.read_csv(args.table), args.out)
    print(f"figure -> {args.out}")


def cmd_plan(args: argparse.Namespace) -> None:
    from bnn.plan import Plan, describe, merge

    config: dict = {}
    for path in args.configfile:
        config = merge(config, yaml.safe_load(Path(path).read_text()) or {})
    plan = Plan(config)
    print(describe(plan) if not args.json else json.dumps([s.spec for s in plan.stages()], indent=1))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="bnn", description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prepare", help="write a dataset's results/data contract")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--data-root", default=None, help="where raw datasets live (not needed for digits)")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-size", default="0.15", help="validation hold-out: a count, or a fraction < 1")
    p.add_argument("--options", default="{}", help="the dataset's dataset_options as JSON (val_size overrides "
                                                   "--val-size; image_folder needs path, size, num_classes)")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="run one training stage from its spec")
    p.add_argument("--spec", required=True, help="spec.yaml path, or the spec as inline JSON")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (overrides the spec)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test a checkpoint and write eval.json")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("aggregate", help="collect eval.json files into accuracy.csv")
    p.add_argument("--out", required=True)
    p.add_argument("eval_files", nargs="+")
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("sensitivity", help="gather the per-layer stages of a sensitivity recipe into a table")
    p.add_argument("--out", required=True)
    p.add_argument("run_dirs", nargs="+", help="the run folders of the layer stages")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("plot", help="draw the accuracy figure from accuracy.csv")
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("plan", help="print the stage chain a config expands to")
    p.add_argument("configfile", nargs="+", help="config files, later ones overlay earlier ones")
    p.add_argument("--json", action="store_true", help="print every resolved stage spec as JSON")
    p.set_defaults(func=cmd_plan)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except BnnError as exc:
        print(f"bnn: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
