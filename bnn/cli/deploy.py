"""``bnn deploy``: a checkpoint exported to OpenVINO IR + ONNX, verified, gated and timed (:mod:`bnn.deploy`).
The deploys' rows are concatenated by ``bnn table inference``."""

from __future__ import annotations

import argparse

from bnn.config.sections import DeploySettings


def cmd_deploy(args: argparse.Namespace) -> None:
    from bnn.deploy.backends import DEPLOYED, OPENVINO_BINARY
    from bnn.deploy.run import DEFAULTS, deploy

    rows = deploy(
        args.checkpoint,
        args.data,
        args.out_dir,
        tuple(args.batch or DEFAULTS.batch),
        tuple(args.threads or ()) or None,
        args.repeats,
    )
    for row in rows:
        if row["backend"] in DEPLOYED:
            kernel = (
                f", BinaryConvolution {row['binary_layers_compiled']}/{row['binary_layers']} W1/A1 layers"
                if row["backend"] == OPENVINO_BINARY
                else ""
            )
            binary = row["speedup_vs_openvino_float"]
            same_engine = f"{binary:.2f}x openvino-float, " if binary is not None else ""
            print(
                f"{row['backend']} batch {row['batch']} threads {row['threads']} {row['precision']}: "
                f"{row['latency_ms']:.3f} ms ({same_engine}{row['speedup_vs_torch_float']:.2f}x torch-float), "
                f"agreement {row['agreement_pct']:.2f}% of {row['test_images']} test images, top1 {row['top1']:.2f}% "
                f"(torch {row['torch_top1']:.2f}%){kernel}"
            )
            if row["backend"] == OPENVINO_BINARY and row["note"]:
                print(f"  note: {row['note']}")  # e.g. OpenVINO's default precision on this CPU and its agreement
    print(
        f"{args.checkpoint} -> {args.out_dir}: model.onnx, model.xml/.bin, inference.csv ({len(rows)} rows), "
        "deploy.json"
    )


def register(sub) -> None:
    p = sub.add_parser(
        "deploy",
        help="export a checkpoint to OpenVINO IR + ONNX, verify it on the test split (refused below 99.9 %% "
        "agreement), time every backend",
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out-dir", required=True, help="writes model.onnx, model.xml/.bin, inference.csv, deploy.json")
    defaults = DeploySettings()  # the config's deploy: defaults (one place)
    batches = " and ".join(map(str, defaults.batch))
    p.add_argument("--batch", type=int, action="append", help=f"batch size to time; repeatable (default {batches})")
    p.add_argument("--threads", type=int, action="append", help=f"CPU threads; repeatable (default {defaults.threads})")
    p.add_argument(
        "--repeats", type=int, default=defaults.repeats, help=f"timed calls per backend and case ({defaults.repeats})"
    )
    p.set_defaults(func=cmd_deploy)
