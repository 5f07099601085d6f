"""Per-GPU file locks: concurrent local jobs (``snakemake --resources gpu=N``) each take their own device(s).

Snakemake limits how many GPU jobs run at once but never says which device a job gets (snakemake#281;
docs/architecture.md, "GPU jobs"). ``bnn train`` on CUDA therefore locks ``<lock dir>/gpu<id>.lock`` with
``fcntl.flock`` for each device it uses before touching CUDA, and waits with a log line while too few are free. The
kernel drops a lock when its holder exits, even on SIGKILL, so a killed job never leaves a device taken.
The lock dir is ``$BNN_GPU_LOCK_DIR``, by default ``bnn-gpu-locks`` in the system temp dir.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from bnn.errors import BnnError

LOCK_DIR_ENV = "BNN_GPU_LOCK_DIR"


def lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "bnn-gpu-locks")


def visible_devices() -> list[str]:
    """The GPUs this process may use, by name: the entries of CUDA_VISIBLE_DEVICES, else 0..count-1
    (``torch.cuda.device_count`` asks NVML, which does not initialise CUDA)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [name.strip() for name in listed.split(",") if name.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


@dataclass(frozen=True)
class Lease:
    """Locked devices: their indices among the visible ones, their names, and the open lock files."""

    indices: list[int]
    names: list[str]
    fds: list[int]


def _try_lock(count: int, devices: list[str], directory: Path) -> Lease | None:
    held: list[tuple[int, int]] = []
    for index, name in enumerate(devices):
        fd = os.open(directory / f"gpu{name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        held.append((index, fd))
        if len(held) == count:
            return Lease([i for i, _ in held], [devices[i] for i, _ in held], [fd for _, fd in held])
    for _, fd in held:
        os.close(fd)
    return None


def _log(line: str) -> None:
    print(line, flush=True)


@contextmanager
def hold(
    count: int,
    devices: list[str],
    directory: str | Path | None = None,
    poll: float = 1.0,
    log: Callable[[str], None] = _log,
) -> Iterator[Lease]:
    """Lock ``count`` of ``devices`` for the block, waiting while fewer are free; closing releases them."""
    if count > len(devices):
        raise BnnError(
            f"device: the stage needs {count} GPU(s) (one per distributed.nproc), {len(devices)} visible "
            f"({', '.join(devices) or 'none'}); use device: cpu, lower distributed.nproc or set CUDA_VISIBLE_DEVICES"
        )
    directory = Path(directory) if directory else lock_dir()
    directory.mkdir(parents=True, exist_ok=True)
    lease = _try_lock(count, devices, directory)
    if lease is None:
        log(f"waiting for {count} free GPU(s) of {', '.join(devices)}: all locked by other jobs ({directory})")
        while lease is None:
            time.sleep(poll)
            lease = _try_lock(count, devices, directory)
    log(f"locked GPU(s) {', '.join(lease.names)} ({directory})")
    try:
        yield lease
    finally:
        for fd in lease.fds:
            os.close(fd)
