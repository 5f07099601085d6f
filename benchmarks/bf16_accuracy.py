"""Accuracy of a W1/A1 network trained with bf16 products against fp32, same seeds, on real data.

Trains ``binarynet_mlp`` (inner layers binary weights and activations, clipped STE, no scale; docs/methods.md
§0.2-2) with ``bnn.train.run_stage`` once per ``amp`` mode and seed, and prints the last epoch's
validation top-1 (measured with the run's own forward, so in its amp mode) and the test top-1 of the
checkpoint (``bnn.evaluation.evaluate``, float32). Seeds give the run-to-run noise to compare the modes with.
Not a test. Example (MNIST prepared by ``bnn prepare --dataset mnist``)::

    PYTHONPATH=. python benchmarks/bf16_accuracy.py --data /tmp/mnist --epochs 4 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bnn.config.spec import StageSpec
from bnn.evaluation.evaluate import evaluate
from bnn.train.run import run_stage

W1A1 = {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "none"}


def stage(data: str, amp: str, seed: int, args) -> StageSpec:
    return StageSpec.parse(
        {
            "run": {
                "dataset": "mnist",
                "model": "binarynet_mlp",
                "method": f"w1a1-{amp}",
                "seed": seed,
                "stage": "train",
            },
            "data": data,
            "model": {"arch": "binarynet_mlp", "inflation": args.inflation},
            "init": None,
            "teacher": None,
            "epochs": args.epochs,
            "batch_size": 256,
            "device": "cpu",
            "threads": args.threads,
            "seed": seed,
            "optimizer": {"name": "adam", "lr": args.lr},
            "lr_schedule": {"name": "cosine"},
            "loss": {"ce": 1.0},
            "binary": W1A1,
            "schedule": {"weights": "binary", "acts": "binary"},
            "amp": amp,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a prepared MNIST folder (bnn prepare)")
    parser.add_argument("--amps", nargs="+", default=["none", "binary_bf16", "bf16"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--inflation", type=int, default=1, help="binarynet_mlp width 2048 x inflation")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print("| amp | seed | val top-1 | test top-1 | seconds |\n|---|---:|---:|---:|---:|", flush=True)
    for amp in args.amps:
        tests = []
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as run_dir:
                result = run_stage(stage(args.data, amp, seed, args), run_dir)
                tests.append(evaluate(Path(run_dir) / "checkpoint.pt", args.data)["top1"])
            print(
                f"| {amp} | {seed} | {float(result['final']['val_acc']):.2f} | {tests[-1]:.2f} | "
                f"{result['seconds']:.0f} |",
                flush=True,
            )
        spread = f" ± {statistics.stdev(tests):.2f}" if len(tests) > 1 else ""
        print(f"| {amp} | mean | | {statistics.mean(tests):.2f}{spread} | |", flush=True)


if __name__ == "__main__":
    main()
