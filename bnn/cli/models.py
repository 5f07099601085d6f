"""``bnn summary | export``: a model's BNN summary (larq-style sizes, MACs, BOPs; ``--measure``: its latency
exported, :mod:`bnn.deploy`) and the bit-packed export."""

from __future__ import annotations

import argparse
import json

import yaml

from bnn.errors import BnnError


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
    from bnn.config.schedule import Schedule
    from bnn.data import DATASETS
    from bnn.models import MODELS, build
    from bnn.nn import binary_layers, set_layer_states
    from bnn.train import checkpoint

    if args.checkpoint:
        given = [
            flag
            for flag, value in (
                ("--model", args.model),
                ("--dataset", args.dataset),
                ("--in-shape", args.in_shape),
                ("--num-classes", args.num_classes),
                ("--option", args.option),
                ("--binary", args.binary),
            )
            if value
        ]
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
    from bnn.evaluation.model_summary import model_summary, render

    model, in_shape = summary_model(args)
    if args.measure or args.json:
        record = measure(args, model, in_shape)
        if args.json:
            print(json.dumps(record, indent=1))
            return
    title = args.checkpoint or f"{args.model} on {'x'.join(map(str, in_shape))} inputs"
    print(render(model_summary(model, in_shape), title))
    if args.measure:
        from bnn.deploy.measure import render as render_latency

        print(render_latency(record))


def measure(args: argparse.Namespace, model, in_shape) -> dict:
    """``--measure``: the model exported (bnn.deploy) and timed in torch-float, torch-binary, openvino-float and
    openvino-binary at ``--batch`` and ``--threads``."""
    from bnn.deploy.measure import measure_model
    from bnn.deploy.run import default_threads
    from bnn.train import checkpoint

    arch = args.model or checkpoint.read(args.checkpoint)["model"]["arch"]
    threads = args.threads or default_threads()
    return {
        "model": arch,
        "dataset": args.dataset,
        **measure_model(model, tuple(in_shape), args.batch, threads, args.repeats),
    }


def cmd_export(args: argparse.Namespace) -> None:
    from bnn.deploy.packed import export

    sizes = export(args.checkpoint, args.out)
    print(
        f"{args.checkpoint} -> {args.out} ({sizes['file_bytes']:,} bytes): {sizes['layers']} binary-weight "
        f"layers packed into {sizes['packed_bytes']:,} bytes ({sizes['float_bytes']:,} as float32)"
    )


def register(sub) -> None:
    p = sub.add_parser("summary", help="per-layer 1-bit/32-bit parameters, memory, MACs and BOPs of a model")
    p.add_argument("--model", help="architecture name (registry), e.g. mlp")
    p.add_argument("--dataset", help="dataset whose input shape and class count to use, e.g. digits")
    p.add_argument("--in-shape", help="input shape C,H,W (instead of, or over, --dataset's)")
    p.add_argument("--num-classes", type=int, help="class count (instead of, or over, --dataset's)")
    p.add_argument(
        "--option", action="append", metavar="KEY=VALUE", help="architecture option (YAML value); repeatable"
    )
    p.add_argument(
        "--binary",
        metavar="weights,acts|weights|acts|none",
        help="what the inner layers binarize (first and last stay real); default weights,acts",
    )
    p.add_argument("--checkpoint", help="summarise this checkpoint's model and binarization state instead")
    p.add_argument(
        "--measure",
        action="store_true",
        help="also export the model (random weights unless "
        "--checkpoint) and print its latency in torch-float, torch-binary, openvino-float, "
        "openvino-binary and the speed-ups (binary: openvino-float / openvino-binary; and over torch-float)",
    )
    p.add_argument("--json", action="store_true", help="print the measurement as one JSON object (implies --measure)")
    p.add_argument("--batch", type=int, default=1, help="batch size of --measure (default 1)")
    p.add_argument("--threads", type=int, help="CPU threads of every backend in --measure (default: all available)")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per backend in --measure (default 30)")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("export", help="write a checkpoint's binary weights packed one bit each, plus the rest")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.set_defaults(func=cmd_export)
