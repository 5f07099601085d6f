"""Cluster resources of one training stage, from its resolved spec (the SLURM profile's ``train_stage`` rule).

Estimates, not measurements: every value can be overridden per rule with the profile's ``set-resources``
(README, "Cluster (SLURM)"). The time model is ``epochs x train samples x input values x seconds per value``
on the stage's device, plus a start-up allowance, times a safety factor; memory is a base for Python + torch plus
the decoded splits the loader holds (uint8), or a fixed allowance for a dataset that streams from files. Nothing
here reads data: sizes are the datasets' nominal train splits.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bnn.config.spec import SPEED_KEYS, StageSpec
from bnn.data.datasets import DATASETS

# nominal train-split sizes (before the validation hold-out); image_folder is unknown at plan time
TRAIN_SAMPLES = {
    "digits": 1437,
    "mnist": 60000,
    "fashion_mnist": 60000,
    "cifar10": 50000,
    "cifar100": 50000,
    "svhn": 73257,
    "tiny_imagenet": 100000,
    "imagenet": 1281167,
}
DEFAULT_SAMPLES = 10000
DEFAULT_SHAPE = (3, 224, 224)  # image_folder: its shape is in dataset_options, not in the stage spec
SECONDS_PER_VALUE = {"cpu": 2e-6, "cuda": 1e-7}  # one input value (C*H*W) through a small CIFAR ResNet
STARTUP_SECONDS = 120
SAFETY = 2
BASE_MEM_MB = 2048
BYTES_PER_VALUE = 2  # the uint8 train split, plus the val split and batches
STREAM_MEM_MB = 4096  # a streaming dataset: decode buffers and loader workers


def uses_cuda(spec: StageSpec, cuda_available: Callable[[], bool] | None = None) -> bool:
    """``device: cuda``, or ``device: auto`` where this machine sees a GPU (the cluster's node type is assumed
    to match the submit host's; override ``gpu`` in the profile otherwise)."""
    device = spec.device
    if device == "auto":
        if cuda_available is None:
            import torch

            cuda_available = torch.cuda.is_available
        return cuda_available()
    return device.startswith("cuda")


def gpus(spec: StageSpec, cuda_available: Callable[[], bool] | None = None) -> int:
    """GPUs to request: the stage's ``distributed.nproc`` on CUDA, else 0."""
    return spec.distributed.nproc if uses_cuda(spec, cuda_available) else 0


def _work(spec: StageSpec) -> float:
    """Input values seen in training: epochs x train samples x C*H*W."""
    dataset = spec.run.dataset
    shape = DATASETS.get(dataset, "datasets").shape or DEFAULT_SHAPE
    return spec.epochs * TRAIN_SAMPLES.get(dataset, DEFAULT_SAMPLES) * math.prod(shape)


def runtime_minutes(spec: StageSpec, cuda_available: Callable[[], bool] | None = None) -> int:
    """Wall-time limit in minutes (SLURM ``--time``)."""
    device = "cuda" if uses_cuda(spec, cuda_available) else "cpu"
    threads = spec.threads if device == "cpu" else 1
    seconds = STARTUP_SECONDS + _work(spec) * SECONDS_PER_VALUE[device] / threads
    return math.ceil(SAFETY * seconds / 60)


def mem_mb(spec: StageSpec) -> int:
    """Host memory in MB: Python + torch, plus the decoded splits in memory (or a streaming allowance)."""
    if DATASETS.get(spec.run.dataset, "datasets").streams:
        return BASE_MEM_MB + STREAM_MEM_MB
    return BASE_MEM_MB + math.ceil(_work(spec) / spec.epochs * BYTES_PER_VALUE / 1e6)


def cpus(spec: StageSpec) -> int:
    """CPUs per task (and Snakemake threads): the stage's torch threads in each of its processes."""
    return spec.threads * spec.distributed.nproc


def speed(spec: StageSpec) -> dict:
    """The speed-only settings a job passes to ``bnn train --speed`` (threads go as ``--threads``): they never
    trigger a re-run (bnn.config.spec.SPEED_KEYS)."""
    return {key: value for key, value in spec.to_dict().items() if key in SPEED_KEYS and key != "threads"}
