"""The ``bnn`` command: prepare | train | evaluate | aggregate | summarize | results-readme | sensitivity | plot | plan | summary | export | deploy | inference-table.

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
    from bnn.launch import train

    spec = read_config(args.spec)
    argv = ["train", "--spec", args.spec, "--run-dir", args.run_dir]
    if args.threads:  # the job's CPU threads, shared by a distributed stage's processes
        nproc = int((spec.get("distributed") or {}).get("nproc", 1))
        spec["threads"] = max(1, args.threads // nproc)
        argv += ["--threads", str(args.threads)]
    result = train(spec, args.run_dir, argv)
    if result is None:  # a launcher, or a rank other than 0
        return
    print(f"trained {args.run_dir}: {result['epochs']} epochs in {result['seconds']:.1f}s, "
          f"final val acc {result['final'].get('val_acc')}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from bnn.evaluate import evaluate
    from bnn.io import write_json

    record = evaluate(args.checkpoint, args.data, args.benchmarks)
    write_json(args.out, record)
    print(f"{args.checkpoint}: top1 {record['top1']:.2f}% top5 {record['top5']:.2f}% "
          f"W{record['weight_bits']}/A{record['act_bits']} binary check ok")


def cmd_aggregate(args: argparse.Namespace) -> None:
    from bnn.report.html import write_html
    from bnn.report.tables import accuracy_table, write_table

    table = accuracy_table(args.eval_files)
    write_table(table, args.out)
    if args.html:
        write_html(table, args.html, "accuracy.csv: one row per dataset x model x method x seed")
    print(f"{len(table)} runs -> {args.out}")


def cmd_summarize(args: argparse.Namespace) -> None:
    import pandas as pd

    from bnn.report.html import write_html
    from bnn.report.summary import summary_table, write_summary

    table = summary_table(pd.read_csv(args.table))
    write_summary(table, args.csv, args.md)
    if args.html:
        write_html(table, args.html, "summary.csv: one row per dataset x model x method")
    print(f"{len(table)} dataset x model x method rows -> {args.csv}, {args.md}")


def cmd_results_readme(args: argparse.Namespace) -> None:
    from bnn.report.readme import write_results_readme

    write_results_readme(args.files, args.out)
    print(f"{len(args.files)} tables and figures described -> {args.out}")


def cmd_sensitivity(args: argparse.Namespace) -> None:
    from bnn.report.sensitivity import sensitivity_table, write_sensitivity

    table = sensitivity_table(args.run_dirs)
    write_sensitivity(table, args.out)
    print(f"{len(table)} layers -> {args.out}")


def cmd_plot(args: argparse.Namespace) -> None:
    import pandas as pd

    from bnn.report import curves, figures, layers
    from bnn.report.runs import histories

    draw, reads = {"accuracy": (figures.accuracy_bars, "table"), "size": (figures.size_scatter, "table"),
                   "curves": (curves.learning_curves, "runs"), "optimizers": (curves.optimizer_curves, "runs"),
                   "iterative": (layers.iterative_figure, "runs"),
                   "sensitivity": (layers.sensitivity_figure, "files")}[args.figure]
    data = {"table": lambda: pd.read_csv(args.table), "runs": lambda: histories(args.files),
            "files": lambda: args.files}[reads]()
    draw(data, args.out)
    print(f"figure {args.figure} -> {args.out}")


def cmd_plan(args: argparse.Namespace) -> None:
    from bnn.plan import Plan, describe, merge

    config: dict = {}
    for path in args.configfile:
        config = merge(config, yaml.safe_load(Path(path).read_text()) or {})
    plan = Plan(config)
    print(describe(plan) if not args.json else json.dumps([s.spec for s in plan.stages()], indent=1))


def parse_options(pairs: list[str]) -> dict:
    """``key=value`` pairs; values are YAML (``hidden=[64, 64]``), read with ``yaml.safe_load``."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise BnnError(f"--option: {pair!r} is not key=value; write e.g. --option hidden=[64,64]")
        try:
            options[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise BnnError(f"--option {key}: {value!r} is not a YAML value; quote it or write e.g. [64, 64]") from None
    return options


def parse_in_shape(text: str) -> list[int]:
    parts = text.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise BnnError(f"--in-shape: {text!r} is not a comma-separated list of positive sizes; write e.g. 3,32,32")
    return [int(p) for p in parts]


def parse_binary(text: str) -> tuple[bool, bool]:
    """``weights,acts`` | ``weights`` | ``acts`` | ``none`` -> (binary weights, binary activations)."""
    parts = set(text.split(","))
    if parts != {"none"} and not parts <= {"weights", "acts"}:
        raise BnnError(f"--binary: {text!r} is not one of weights,acts | weights | acts | none")
    return "weights" in parts, "acts" in parts


def summary_model(args: argparse.Namespace):
    """The model to summarise: the checkpoint's, or ``--model`` switched as the default schedule would."""
    from bnn import checkpoint
    from bnn.data import DATASETS
    from bnn.models import MODELS, build
    from bnn.nn import binary_layers, set_layer_states
    from bnn.schedule import Schedule

    if args.checkpoint:
        given = [flag for flag, value in (("--model", args.model), ("--dataset", args.dataset),
                                          ("--in-shape", args.in_shape), ("--num-classes", args.num_classes),
                                          ("--option", args.option), ("--binary", args.binary)) if value]
        if given:
            raise BnnError(f"{given[0]}: the checkpoint defines the model; drop {given[0]} or --checkpoint")
        ckpt = checkpoint.read(args.checkpoint)
        return checkpoint.rebuild(ckpt, args.checkpoint), ckpt["in_shape"]
    if not args.model:
        raise BnnError("--model: missing; name an architecture (e.g. --model mlp) or give --checkpoint")
    dataset = DATASETS.get(args.dataset, "--dataset") if args.dataset else None
    in_shape = parse_in_shape(args.in_shape) if args.in_shape else dataset and list(dataset.shape)
    num_classes = args.num_classes or (dataset and dataset.num_classes)
    if not in_shape or not num_classes:
        raise BnnError("--dataset: missing; give --dataset NAME, or --in-shape C,H,W and --num-classes N")
    MODELS.get(args.model, "--model")
    try:
        model = build(args.model, num_classes, in_shape, key="--option", **parse_options(args.option or []))
    except (TypeError, ValueError) as exc:
        raise BnnError(f"--option: model {args.model!r} cannot be built with these options ({exc})") from None
    weights, acts = parse_binary(args.binary or "weights,acts")
    rule = {True: "binary", False: "real"}
    schedule = Schedule.parse({"weights": rule[weights], "acts": rule[acts], "layers": "inner"})
    set_layer_states(model, schedule.states(0, len(binary_layers(model))))
    return model, in_shape


def cmd_summary(args: argparse.Namespace) -> None:
    from bnn.summary import render, summarize

    model, in_shape = summary_model(args)
    if args.measure or args.json:
        from bnn.deploy.measure import measure_model
        from bnn.deploy.measure import render as render_latency

        threads = args.threads or default_threads()
        record = {"model": args.model or model_arch(args), "dataset": args.dataset,
                  **measure_model(model, tuple(in_shape), args.batch, threads, args.repeats)}
        if args.json:
            print(json.dumps(record, indent=1))
            return
    title = args.checkpoint or f"{args.model} on {'x'.join(map(str, in_shape))} inputs"
    print(render(summarize(model, in_shape), title))
    if args.measure:
        print(render_latency(record))


def model_arch(args: argparse.Namespace) -> str:
    from bnn import checkpoint

    return checkpoint.read(args.checkpoint)["model"]["arch"]


def default_threads() -> int:
    from bnn.deploy.run import default_threads as available

    return available()


def cmd_export(args: argparse.Namespace) -> None:
    from bnn.export import export

    sizes = export(args.checkpoint, args.out)
    print(f"{args.checkpoint} -> {args.out} ({sizes['file_bytes']:,} bytes): {sizes['layers']} binary-weight "
          f"layers packed into {sizes['packed_bytes']:,} bytes ({sizes['float_bytes']:,} as float32)")


def cmd_deploy(args: argparse.Namespace) -> None:
    from bnn.deploy.run import DEFAULT_BATCHES, deploy

    rows = deploy(args.checkpoint, args.data, args.out_dir, tuple(args.batch or DEFAULT_BATCHES),
                  tuple(args.threads or ()) or None, args.repeats)
    for row in rows:
        if row["backend"] in ("openvino-binary", "onnxruntime"):
            print(f"{row['backend']} batch {row['batch']} threads {row['threads']}: {row['latency_ms']:.3f} ms "
                  f"({row['speedup']:.2f}x torch-float), agreement {row['agreement_pct']:.2f}% of "
                  f"{row['test_images']} test images, top1 {row['top1']:.2f}% (torch {row['torch_top1']:.2f}%)"
                  + (f", BinaryConvolution {row['binary_layers_compiled']}/{row['binary_layers']} W1/A1 layers"
                     if row["backend"] == "openvino-binary" else ""))
    print(f"{args.checkpoint} -> {args.out_dir}: model.onnx, model.xml/.bin, inference.csv ({len(rows)} rows), deploy.json")


def cmd_inference_table(args: argparse.Namespace) -> None:
    from bnn.deploy.rows import inference_table, write_table

    table = inference_table(args.rows)
    write_table(table, args.out)
    print(f"{len(table)} rows from {len(args.rows)} deploys -> {args.out}")


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

    p = sub.add_parser("train", help="run one training stage from its spec (distributed.nproc > 1: launches "
                                     "that many processes under torchrun)")
    p.add_argument("--spec", required=True, help="spec.yaml path, or the spec as inline JSON")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--threads", type=int, default=None, help="the job's torch CPU threads, split over distributed.nproc processes (overrides the spec)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test a checkpoint and write eval.json")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out", required=True)
    p.add_argument("--benchmarks", nargs="*", default=[],
                   help="Snakemake benchmark.tsv of each of the run's stages: its cost (wall_seconds, max_rss_mb)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("aggregate", help="collect eval.json files into accuracy.csv")
    p.add_argument("--out", required=True)
    p.add_argument("eval_files", nargs="+")
    p.add_argument("--html", help="also write the table as an HTML page (the Snakemake report shows it)")
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("summarize", help="accuracy.csv -> summary.csv and summary.md (mean ± std, paper top-1)")
    p.add_argument("--table", required=True, help="results/tables/accuracy.csv")
    p.add_argument("--csv", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--html", help="also write the table as an HTML page (the Snakemake report shows it)")
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("results-readme", help="write results/README.md: what each table and figure shows")
    p.add_argument("--out", required=True)
    p.add_argument("files", nargs="+", help="the tables/ and figures/ files of this run")
    p.set_defaults(func=cmd_results_readme)

    p = sub.add_parser("sensitivity", help="gather the per-layer stages of a sensitivity recipe into a table")
    p.add_argument("--out", required=True)
    p.add_argument("run_dirs", nargs="+", help="the run folders of the layer stages")
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("plot", help="draw one results figure (PNG)")
    figure = p.add_subparsers(dest="figure", required=True)
    for name, help_text in (("accuracy", "test top-1 per method, error bars over seeds, float teacher as a line"),
                            ("size", "test top-1 against packed model size (KiB) of every run")):
        q = figure.add_parser(name, help=help_text)
        q.add_argument("--table", required=True, help="results/tables/accuracy.csv")
        q.add_argument("--out", required=True)
    for name, help_text in (("curves", "validation top-1 per epoch, an experiment's stages joined"),
                            ("iterative", "iterative orders: accuracy per epoch and per number of binary layers"),
                            ("optimizers", "optimizer recipes: validation top-1 and flip ratio per epoch")):
        q = figure.add_parser(name, help=help_text)
        q.add_argument("--out", required=True)
        q.add_argument("files", nargs="+", metavar="METRICS_CSV", help="stage metrics.csv files, in stage order")
    q = figure.add_parser("sensitivity", help="validation top-1 with only layer k binary, per layer")
    q.add_argument("--out", required=True)
    q.add_argument("files", nargs="+", metavar="SENSITIVITY_CSV", help="runs/.../seed{seed}/sensitivity.csv files")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("plan", help="print the stage chain a config expands to")
    p.add_argument("configfile", nargs="+", help="config files, later ones overlay earlier ones")
    p.add_argument("--json", action="store_true", help="print every resolved stage spec as JSON")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("summary", help="per-layer 1-bit/32-bit parameters, memory, MACs and BOPs of a model")
    p.add_argument("--model", help="architecture name (registry), e.g. mlp")
    p.add_argument("--dataset", help="dataset whose input shape and class count to use, e.g. digits")
    p.add_argument("--in-shape", help="input shape C,H,W (instead of, or over, --dataset's)")
    p.add_argument("--num-classes", type=int, help="class count (instead of, or over, --dataset's)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE", help="architecture option (YAML value); repeatable")
    p.add_argument("--binary", metavar="weights,acts|weights|acts|none",
                   help="what the inner layers binarize (first and last stay real); default weights,acts")
    p.add_argument("--checkpoint", help="summarise this checkpoint's model and binarization state instead")
    p.add_argument("--measure", action="store_true", help="also export the model (random weights unless "
                   "--checkpoint) and print its latency in torch-float, torch-binary, openvino-float, "
                   "openvino-binary and the speed-up")
    p.add_argument("--json", action="store_true", help="print the measurement as one JSON object (implies --measure)")
    p.add_argument("--batch", type=int, default=1, help="batch size of --measure (default 1)")
    p.add_argument("--threads", type=int, help="CPU threads of every backend in --measure (default: all available)")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per backend in --measure (default 30)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("export", help="write a checkpoint's binary weights packed one bit each, plus the rest")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("deploy", help="export a checkpoint to OpenVINO IR + ONNX, verify it on the test split, "
                                      "time every backend")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out-dir", required=True, help="writes model.onnx, model.xml/.bin, inference.csv, deploy.json")
    p.add_argument("--batch", type=int, action="append", help="batch size to time; repeatable (default 1 and 64)")
    p.add_argument("--threads", type=int, action="append", help="CPU threads; repeatable (default: all available)")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per backend and case (default 30)")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("inference-table", help="concatenate deploy inference.csv files into one table")
    p.add_argument("--out", required=True, help="results/tables/inference.csv")
    p.add_argument("rows", nargs="+", metavar="DEPLOY_CSV", help="runs/.../deploy/inference.csv files")
    p.set_defaults(func=cmd_inference_table)
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
