"""How ``bnn train`` runs a stage: in this process, or as ``distributed.nproc`` ranks that it launches
under torch's elastic launcher (``python -m torch.distributed.run --standalone``), each rank running
``bnn train`` again with the same arguments. On CUDA it first locks its GPU(s) (``bnn.train.gpu_lock``)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from contextlib import nullcontext

import torch

from bnn.config.spec import StageSpec
from bnn.errors import BnnError
from bnn.train.distributed import Ranks, launched, process_group
from bnn.train.gpu_lock import Lease, hold, visible_devices
from bnn.train.parts import resolve_device
from bnn.train.run import run_stage


def targets_cuda(spec: StageSpec) -> bool:
    """Whether the stage takes a GPU lock: ``cuda``, or ``auto`` with a GPU. A pinned ``cuda:N`` is used as is."""
    device = spec.device
    return device == "cuda" or (device == "auto" and torch.cuda.device_count() > 0)


def train(spec: StageSpec, run_dir: str, argv: list[str]) -> dict | None:
    """Run the stage; ``argv`` is this ``bnn`` command line (what each rank runs). Returns run_stage's result in
    the process that trained as (or alone as) rank 0, None in the launcher and the other ranks."""
    setting = spec.distributed
    if launched():
        die_with_parent()
        with process_group(setting, resolve_device(spec.device)):
            result = run_stage(spec, run_dir)
            return result if Ranks.current().is_main else None
    with hold(setting.nproc, visible_devices()) if targets_cuda(spec) else nullcontext() as lease:
        if setting.nproc == 1:
            if lease:
                torch.cuda.set_device(lease.indices[0])
            return run_stage(spec, run_dir)
        run_ranks(setting.nproc, argv, spec.threads, lease)
    return None


def run_ranks(nproc: int, argv: list[str], threads: int, lease: Lease | None) -> None:
    """Launch ``nproc`` ranks of ``bnn *argv``; on CUDA they see only the locked GPUs (rank i gets the i-th)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    if lease:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(lease.names)
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "bnn",
        *argv,
    ]
    print(
        f"launching {nproc} processes: python -m torch.distributed.run --standalone --nproc-per-node={nproc} "
        f"-m bnn {argv[0]} ...",
        flush=True,
    )
    code = subprocess.run(command, env=env, pass_fds=lease.fds if lease else (), preexec_fn=die_with_parent).returncode
    if code:
        raise BnnError(
            f"the stage failed in one of its {nproc} processes (torchrun exit status {code}); "
            "that rank's error is above"
        )


def die_with_parent() -> None:
    """Have Linux SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``). torchrun starts each
    rank in a session of its own, so without this a killed job (SIGKILL) would leave its ranks running."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
