"""Time one epoch of each method of a config on the machine's device, with the commands the workflow's rules run.

For the config (default: config.yaml overlaid with configs/cifar10_gpu.yaml, as ``snakemake --configfile``
stacks them) it runs ``bnn prepare`` once per dataset (the ``prepare_data`` rule's command line) and then, stage by
stage in plan order, ``bnn train --spec ... --run-dir ... --threads ... --speed ...`` (the ``train_stage`` rule's),
with each stage's full-scale spec from the plan (``Plan``) except ``epochs`` (``--epochs``, default 2: the
first epoch carries the warm-up, the second is the steady state) and an lr warm-up longer than that (cut to
``epochs - 1``). Two-step recipes time each stage; a KD student reads its teacher's checkpoint from this run.
Each ``--variant`` (JSON spec overrides, e.g. ``'{"amp": "none"}'``; default: the config as it is) repeats every
stage in its own run folder. Epoch times are the ``seconds`` column of each stage's metrics.csv (one training
pass over the train split and the scoring of the validation split). Every ``bnn`` process is capped
(``--run-timeout``; in the first variant also at its share of the budget left) and nothing starts past ``--budget``
seconds; a capped stage keeps the epochs it finished (a capped teacher or step 1 writes no checkpoint, so the
stages that read it are skipped).

Writes into ``--out``: ``gpu_epoch.csv`` (one row per variant x stage x epoch), ``gpu_epoch.md`` (a table),
``env.json`` (device, torch, CUDA), ``gpu_epoch.log`` (the ``bnn`` processes' output). Not a test. On a GPU
machine, from the repository root, with ``.gpudata/cifar10-jpg/cifar10-jpg.tar.gz`` (a git-ignored copy):

    PYTHONPATH=$PWD PYTHONUNBUFFERED=1 python3 benchmarks/gpu_epoch.py --data-root .gpudata --out $OUT

A quick check of the script itself on a CPU (``/tmp/tiny/cifar10-jpg/cifar10-jpg.tar.gz``: the archive's layout with
30 training and 10 test images per class)::

    PYTHONPATH=. python benchmarks/gpu_epoch.py --data-root /tmp/tiny --val-size 50 --device cpu --out /tmp/o
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bnn.config.files import read_configs  # noqa: E402
from bnn.plan import layout  # noqa: E402
from bnn.plan import resources as stage_resources  # noqa: E402
from bnn.plan.experiments import Plan  # noqa: E402

COLUMNS = [
    "variant",
    "dataset",
    "model",
    "method",
    "stage",
    "epoch",
    "seconds",
    "train_acc",
    "val_acc",
    "process_s",
    "status",
]


def log(line: str) -> None:
    print(f"[gpu_epoch {time.strftime('%H:%M:%S')}] {line}", flush=True)


def environment(device: str | None) -> dict:
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cuda_available": torch.cuda.is_available(),
        "device_override": device,
        "host_cpus": os.cpu_count(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_count"] = torch.cuda.device_count()
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return info


def run(cmd: list[str], cwd: Path, env: dict, timeout: float, log_file) -> tuple[int | None, float]:
    """Run ``cmd`` in its own process group, its output copied to stdout and ``log_file``; kill the group at
    ``timeout`` seconds. Returns (exit code or None when killed, wall seconds)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    killed = False

    def kill(*_):
        nonlocal killed
        killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    signal.signal(signal.SIGALRM, kill)
    signal.setitimer(signal.ITIMER_REAL, max(1.0, timeout))
    try:
        for line in proc.stdout:
            sys.stdout.write("    " + line)
            sys.stdout.flush()
            log_file.write(line)
        proc.wait()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return (None if killed else proc.returncode), time.perf_counter() - start


def stage_spec(stage, epochs: int, overrides: dict) -> dict:
    spec = {**stage.spec.result_dict(), **overrides, "epochs": epochs}
    schedule = dict(spec.get("lr_schedule") or {})
    if schedule.get("warmup", 0) >= epochs:
        schedule["warmup"] = epochs - 1
        spec["lr_schedule"] = schedule
    return spec


def label(overrides: dict) -> str:
    return ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(overrides.items())) or "config"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        nargs="+",
        default=["config.yaml", "configs/cifar10_gpu.yaml"],
        help="config files, later over earlier (relative to the repository root)",
    )
    parser.add_argument("--data-root", required=True, help="replaces the config's data_root")
    parser.add_argument("--out", required=True, help="folder for gpu_epoch.csv, gpu_epoch.md, env.json, the log")
    parser.add_argument("--work", default="/tmp/gpu_epoch", help="prepared data and run folders")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--variant", action="append", type=json.loads, help="JSON spec overrides (repeatable)")
    parser.add_argument("--methods", nargs="+", help="only these methods (and their teachers)")
    parser.add_argument("--device", help="override every stage's device (e.g. cpu, to check the script)")
    parser.add_argument("--val-size", type=int, help="override the validation hold-out (a small test archive)")
    parser.add_argument("--budget", type=float, default=420.0, help="start nothing after this many seconds")
    parser.add_argument("--run-timeout", type=float, default=150.0, help="cap of each bnn process, seconds")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out, work = Path(args.out).resolve(), Path(args.work).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    data_root = str(Path(args.data_root).resolve())

    config = read_configs([REPO / c for c in args.config])
    config["data_root"] = data_root
    if args.methods:
        config["methods"] = args.methods
    plan = Plan(config)
    variants = args.variant or [{}]
    if args.device:
        variants = [{**v, "device": args.device} for v in variants]

    env_info = environment(args.device)
    (out / "env.json").write_text(json.dumps(env_info, indent=2) + "\n")
    log(f"environment: {json.dumps(env_info)}")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        "PYTHONUNBUFFERED": "1",
        "BNN_GPU_LOCK_DIR": str(work / "gpu-locks"),
    }
    bnn = [sys.executable, "-m", "bnn"]
    rows: list[dict] = []
    with open(out / "gpu_epoch.log", "w") as log_file:
        # ---- prepare_data: the rule's command line ----
        for dataset in plan.datasets():
            options = dict((config.get("dataset_options") or {}).get(dataset) or {})
            if args.val_size is not None:
                options["val_size"] = args.val_size
            out_dir = work / layout.path(layout.DATA, dataset=dataset)
            if (out_dir / "meta.json").is_file():
                log(f"prepare {dataset}: already in {out_dir}")
                continue
            cmd = [
                *bnn,
                "prepare",
                "--dataset",
                dataset,
                "--out-dir",
                str(out_dir),
                "--data-root",
                data_root,
                "--split-seed",
                str(config["split"]["seed"]),
                "--val-size",
                str(config["split"]["val_size"]),
                "--options",
                json.dumps(options),
            ]
            log(f"prepare {dataset}: {' '.join(cmd)}")
            code, wall = run(cmd, work, env, args.run_timeout, log_file)
            log(f"prepare {dataset}: exit {code}, {wall:.1f} s")
            if code != 0:
                return 1

        # ---- train_stage: the rule's command line, every stage of every variant ----
        for overrides in variants:
            name = label(overrides)
            root = work / "variants" / (re.sub(r"[^A-Za-z0-9_.=-]+", "_", name).strip("_") or "config")
            (root / layout.RESULTS).mkdir(parents=True, exist_ok=True)
            data_link = root / layout.RESULTS / "data"
            if not data_link.exists():
                data_link.symlink_to(work / layout.RESULTS / "data")
            stages = plan.stages()
            for i, stage in enumerate(stages):
                spec = stage_spec(stage, args.epochs, overrides)
                row = {"variant": name, **{k: getattr(stage.run, k) for k in ("dataset", "model", "method", "stage")}}
                left = args.budget - (time.perf_counter() - t0)
                missing = [p for p in (spec.get("init"), spec.get("teacher")) if p and not (root / p).is_file()]
                if missing or left < 30:
                    status = f"skipped: no {missing[0]}" if missing else "skipped: budget spent"
                    log(f"{stage.run.label} [{name}]: {status}")
                    rows.append({**row, "status": status})
                    continue
                # the first variant shares what is left fairly among its stages, so each gets its epochs
                cap = min(args.run_timeout, left / (len(stages) - i) if overrides is variants[0] else left)
                threads = stage_resources.cpus(stage.spec)
                cmd = [
                    *bnn,
                    "train",
                    "--spec",
                    json.dumps(spec, sort_keys=True),
                    "--run-dir",
                    stage.dir,
                    "--threads",
                    str(threads),
                    "--speed",
                    json.dumps(stage_resources.speed(stage.spec)),
                ]
                log(
                    f"{stage.run.label} [{name}]: cd {root} && {' '.join(cmd[:3])} train --spec '...' "
                    f"--run-dir {stage.dir} --threads {threads} (cap {cap:.0f} s)"
                )
                code, wall = run(cmd, root, env, cap, log_file)
                status = "ok" if code == 0 else ("capped" if code is None else f"exit {code}")
                metrics = root / stage.file(layout.METRICS)
                epochs = []
                if metrics.is_file():
                    with open(metrics, newline="") as handle:
                        epochs = list(csv.DictReader(handle))
                log(
                    f"{stage.run.label} [{name}]: {status}, process {wall:.1f} s, epoch seconds "
                    f"{[e['seconds'] for e in epochs]}"
                )
                if not epochs:
                    rows.append({**row, "process_s": f"{wall:.1f}", "status": status})
                for e in epochs:
                    rows.append(
                        {
                            **row,
                            "epoch": int(e["epoch"]) + 1,
                            "seconds": e["seconds"],
                            "train_acc": e["train_acc"],
                            "val_acc": e["val_acc"],
                            "process_s": f"{wall:.1f}",
                            "status": status,
                        }
                    )
                write(out, rows, env_info, args)
    write(out, rows, env_info, args)
    log(f"done in {time.perf_counter() - t0:.1f} s: {out / 'gpu_epoch.csv'}, {out / 'gpu_epoch.md'}")
    return 0


def write(out: Path, rows: list[dict], env_info: dict, args) -> None:
    with open(out / "gpu_epoch.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    device = env_info.get("gpu") or "CPU"
    lines = [
        f"Device: {device}; torch {env_info['torch']} (CUDA {env_info['cuda']}, cuDNN {env_info['cudnn']}), "
        f"Python {env_info['python']}. Epochs per stage: {args.epochs}; seconds per epoch (training pass + "
        "validation scoring) from metrics.csv; `process s` is the whole `bnn train` process.",
        "",
        "| variant | model | method | stage | "
        + " | ".join(f"epoch {i + 1} s" for i in range(args.epochs))
        + " | process s | status |",
        "|---|---|---|---|" + "---:|" * args.epochs + "---:|---|",
    ]
    stages: dict[tuple, dict] = {}
    for row in rows:
        key = (row["variant"], row["model"], row["method"], row["stage"])
        entry = stages.setdefault(key, {"epochs": {}, "process_s": row.get("process_s", ""), "status": row["status"]})
        if row.get("epoch"):
            entry["epochs"][row["epoch"]] = row["seconds"]
    for (variant, model, method, stage), entry in stages.items():
        cells = [entry["epochs"].get(i + 1, "") for i in range(args.epochs)]
        lines.append(
            f"| {variant} | {model} | {method} | {stage} | {' | '.join(cells)} | {entry['process_s']} | "
            f"{entry['status']} |"
        )
    (out / "gpu_epoch.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
