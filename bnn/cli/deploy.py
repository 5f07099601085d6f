"""``bnn deploy | inference-table``: a checkpoint exported to OpenVINO IR + ONNX, verified and timed
(:mod:`bnn.deploy`), and the deploys' rows concatenated into one inference table."""

from __future__ import annotations

import argparse


def cmd_deploy(args: argparse.Namespace) -> None:
    from bnn.deploy.backends import DEPLOYED, OPENVINO_BINARY
    from bnn.deploy.run import DEFAULT_BATCHES, deploy

    rows = deploy(
        args.checkpoint,
        args.data,
        args.out_dir,
        tuple(args.batch or DEFAULT_BATCHES),
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
    print(
        f"{args.checkpoint} -> {args.out_dir}: model.onnx, model.xml/.bin, inference.csv ({len(rows)} rows), "
        "deploy.json"
    )


def cmd_inference_table(args: argparse.Namespace) -> None:
    from bnn.deploy.rows import inference_table, write_table

    table = inference_table(args.rows)
    write_table(table, args.out)
    print(f"{len(table)} rows from {len(args.rows)} deploys -> {args.out}")


def register(sub) -> None:
    p = sub.add_parser(
        "deploy",
        help="export a checkpoint to OpenVINO IR + ONNX, verify it on the test split (refused below 99.9 %% "
        "agreement), time every backend",
    )
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True, help="prepared data folder (results/data/<dataset>)")
    p.add_argument("--out-dir", required=True, help="writes model.onnx, model.xml/.bin, inference.csv, deploy.json")
    p.add_argument("--batch", type=int, action="append", help="batch size to time; repeatable (default 1 and 64)")
    p.add_argument("--threads", type=int, action="append", help="CPU threads; repeatable (default: all available)")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per backend and case (default 30)")
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("inference-table", help="concatenate deploy inference.csv files into one table")
    p.add_argument("--out", required=True, help="results/tables/inference.csv")
    p.add_argument("rows", nargs="+", metavar="DEPLOY_CSV", help="the deploys' inference.csv files")
    p.set_defaults(func=cmd_inference_table)
