"""Our data path against the classic torchvision DataLoader, training the same model for the same steps.

(a) ours: prepared uint8 tensors (the results/data contract) on the device, ``TensorLoader`` batches,
    batched on-device crop/flip (``bnn.data.augment``) for CIFAR;
(b) classic: ``torch.utils.data.DataLoader`` over the same uint8 arrays with per-sample PIL transforms as
    the source repositories do (MNIST: ToTensor, Normalize; CIFAR: RandomCrop(32, padding 4),
    RandomHorizontalFlip, ToTensor, Normalize; docs/methods.md §0.7), ``num_workers`` worker processes.

Prints images/s for both and the ratio per case and device (CPU always; CUDA when available).
Not a test. Example:
    PYTHONPATH=. python benchmarks/loader_benchmark.py --data-root /work/shared/data --cache /tmp/bnn-bench
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from bnn.data import TensorLoader, load_split, prepare, read_meta
from bnn.data.augment import Augment
from bnn.models import build

CASES = {  # name -> dataset, model options, augment (docs/methods.md §0.7), default steps
    "mnist-mlp": ("mnist", {"arch": "mlp", "hidden": [300, 100]}, None, 300),
    "cifar10-resnet20": ("cifar10", {"arch": "resnet20"}, Augment(crop=4, flip=True), 15),
    "cifar10-vgg_small": ("cifar10", {"arch": "vgg_small"}, Augment(crop=4, flip=True), 10),
}


class PILDataset(Dataset):
    """What torchvision's MNIST/CIFAR datasets do per sample: array -> PIL image -> transforms."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        arrays = images.numpy()
        self.images = arrays[:, 0] if arrays.shape[1] == 1 else arrays.transpose(0, 2, 3, 1)
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return self.transform(Image.fromarray(np.ascontiguousarray(self.images[i]))), self.labels[i]


def classic_loader(data_dir: Path, meta: dict, augment: Augment | None, batch: int, workers: int, device):
    steps = (
        [transforms.RandomCrop(meta["shape"][1], padding=augment.crop), transforms.RandomHorizontalFlip()]
        if augment
        else []
    )
    transform = transforms.Compose(steps + [transforms.ToTensor(), transforms.Normalize(meta["mean"], meta["std"])])
    split = load_split(data_dir, "train")
    return DataLoader(
        PILDataset(split.images, split.labels, transform),
        batch_size=batch,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def train_steps(model: nn.Module, batches, steps: int, warmup: int, device: torch.device) -> float:
    """Images/s over ``steps`` SGD steps after ``warmup`` untimed ones."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()
    images, start = 0, None
    for step, (x, y) in enumerate(itertools.islice(batches, warmup + steps)):
        if step == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, images = time.perf_counter(), 0
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        images += len(y)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def forever(loader):
    """Endless batches, a new epoch (and shuffle) each pass."""
    for epoch in itertools.count():
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        yield from loader


def run_case(name: str, args, device: torch.device) -> dict:
    dataset, model_spec, augment, default_steps = CASES[name]
    data_dir = Path(args.cache) / dataset
    if not (data_dir / "meta.json").is_file():
        prepare(dataset, data_dir, args.data_root, val_size=5000)
    meta = read_meta(data_dir)
    steps = args.steps or default_steps
    options = {k: v for k, v in model_spec.items() if k != "arch"}

    def model() -> nn.Module:
        torch.manual_seed(0)
        return build(model_spec["arch"], meta["num_classes"], meta["shape"], **options).to(device)

    ours = TensorLoader(
        load_split(data_dir, "train"),
        args.batch,
        meta["mean"],
        meta["std"],
        device,
        shuffle=True,
        drop_last=True,
        augment=augment,
    )
    ours_rate = train_steps(model(), forever(ours), steps, args.warmup, device)
    classic = classic_loader(data_dir, meta, augment, args.batch, args.workers, device)
    classic_rate = train_steps(model(), forever(classic), steps, args.warmup, device)
    return {
        "case": name,
        "device": device.type,
        "steps": steps,
        "batch": args.batch,
        "ours": ours_rate,
        "classic": classic_rate,
        "ratio": ours_rate / classic_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, help="folder holding mnist/ and cifar10-jpg/ (see README)")
    parser.add_argument("--cache", default="/tmp/bnn-bench", help="where the prepared splits are kept")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--steps", type=int, default=0, help="timed steps per run (0: the case's default)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads of the training process")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader worker processes of the classic path")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, threads {args.threads}, classic workers {args.workers}, batch {args.batch}")
    print(f"{'case':20} {'device':6} {'steps':>5} {'ours img/s':>11} {'classic img/s':>14} {'ratio':>6}")
    for device in devices:
        for name in args.cases.split(","):
            r = run_case(name, args, device)
            print(
                f"{r['case']:20} {r['device']:6} {r['steps']:5d} {r['ours']:11.0f} {r['classic']:14.0f} "
                f"{r['ratio']:6.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
