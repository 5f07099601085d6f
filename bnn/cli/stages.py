"""``bnn prepare | train | evaluate | plan``: the data contract, one training stage, a run's test, the stage chain."""

from __future__ import annotations

import argparse
import json

from bnn.errors import BnnError


def cmd_prepare(args: argparse.Namespace) -> None:
    from bnn.data import prepare

    val_size = float(args.val_size) if "." in args.val_size else int(args.val_size)
    meta = prepare(args.dataset, args.out_dir, args.data_root, args.split_seed, val_size, json.loads(args.options))
    print(f"prepared {args.dataset}: {meta['splits']} shape {meta['shape']} -> {args.out_dir}")


def speed_settings(args: argparse.Namespace, nproc: int) -> dict:
    """The speed-only settings given on the command line: ``--speed JSON``, and ``--threads`` (the job's CPU
    threads, shared by a distributed stage's processes)."""
    try:
        speed = json.loads(args.speed) if args.speed else {}
    except json.JSONDecodeError as exc:
        raise BnnError(f"--speed: not JSON ({exc}); write e.g. '{{\"workers\": 4}}'") from None
    if not isinstance(speed, dict):
        raise BnnError("--speed: must be a JSON mapping of speed settings, e.g. '{\"workers\": 4}'")
    if args.threads:
        speed["threads"] = max(1, args.threads // nproc)
    return speed


def cmd_train(args: argparse.Namespace) -> None:
    from bnn.config.spec import SPEED_KEYS, StageSpec
    from bnn.io import read_config
    from bnn.train.launch import train

    spec = StageSpec.parse(read_config(args.spec), "spec")
    speed = speed_settings(args, spec.distributed.nproc)
    unknown = sorted(set(speed) - set(SPEED_KEYS))
    if unknown:
        raise BnnError(f"--speed.{unknown[0]}: not a speed setting; use {', '.join(SPEED_KEYS)}")
    spec = spec.with_speed(**speed)
    argv = ["train", "--spec", args.spec, "--run-dir", args.run_dir]
    argv += ["--threads", str(args.threads)] if args.threads else []
    argv += ["--speed", args.speed] if args.speed else []
    result = train(spec, args.run_dir, argv)
    if result is None:  # a launcher, or a rank other than 0
        return
    print(
        f"trained {args.run_dir}: {result['epochs']} epochs in {result['seconds']:.1f}s, "
        f"final val acc {result['final'].get('val_acc')}"
    )


def cmd_evaluate(args: argparse.Namespace) -> None:
    from pathlib import Path

    from bnn.evaluation.evaluate import evaluate
    from bnn.io import write_json
    from bnn.plan import layout

    predictions = args.predictions or Path(args.out).parent / layout.PREDICTIONS
    record = evaluate(args.checkpoint, args.data, args.benchmarks, predictions=predictions)
    write_json(args.out, record)
    zeros = sum(record["binary_check"]["zero_inputs"].values()) + sum(record["binary_check"]["zero_weights"].values())
    print(
        f"{args.checkpoint}: top1 {record['top1']:.2f}% top5 {record['top5']:.2f}% "
        f"W{record['weight_bits']}/A{record['act_bits']} binary check ok"
        + (f" ({zeros} exact zeros binarized to 0 by sign0)" if zeros else "")
    )


def cmd_plan(args: argparse.Namespace) -> None:
    from bnn.config.files import read_configs
    from bnn.plan.experiments import Plan, describe

    plan = Plan(read_configs(args.configfile))
    print(describe(plan) if not args.json else json.dumps([s.spec.to_dict() for s in plan.stages()], indent=1))


def cmd_schema(args: argparse.Namespace) -> None:
    from bnn.config.schema import schema_text
    from bnn.io import write_text

    if args.out:
        write_text(args.out, schema_text())
    else:
        print(schema_text(), end="")


def register(sub) -> None:
    p = sub.add_parser("prepare", help="write a dataset's results/data contract")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--data-root", default=None, help="where raw datasets live (not needed for digits)")
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--val-size", default="0.15", help="validation hold-out: a count, or a fraction < 1")
    p.add_argument(
        "--options",
        default="{}",
        help="the dataset's dataset_options as JSON (val_size overrides "
        "--val-size; image_folder needs path, size, num_classes)",
    )
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("schema", help="the workflow's config schema, generated from the keys bnn declares")
    p.add_argument("--out", help="write it here (workflow/schemas/config.schema.yaml) instead of printing it")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "train",
        help="run one training stage from its spec (distributed.nproc > 1: launches "
        "that many processes under torchrun)",
    )
    p.add_argument("--spec", required=True, help="spec.yaml path, or the spec as inline JSON")
    p.add_argument("--run-dir", required=True)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="the job's torch CPU threads, split over distributed.nproc processes (overrides the spec)",
    )
    p.add_argument(
        "--speed",
        default=None,
        help='speed-only settings as JSON, e.g. \'{"workers": 4, "compile": '
        'true, "progress": {"interval": 10}}\' (override the spec)',
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test a checkpoint and write eval.json and predictions.csv")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--predictions",
        default=None,
        help="every test image's label and top-1 prediction (CSV; default: predictions.csv beside --out)",
    )
    p.add_argument(
        "--benchmarks",
        nargs="*",
        default=[],
        help="Snakemake benchmark.tsv of each of the run's stages: its cost (wall_seconds, max_rss_mb)",
    )
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("plan", help="print the stage chain a config expands to")
    p.add_argument("configfile", nargs="+", help="config files, later ones overlay earlier ones")
    p.add_argument("--json", action="store_true", help="print every resolved stage spec as JSON")
    p.set_defaults(func=cmd_plan)
