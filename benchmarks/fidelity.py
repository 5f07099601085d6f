"""Equal-budget fidelity against the authors' public training code (issue 22; docs/fidelity.md).

For each recipe, bnn-flow and the authors' code train the same ResNet-20 on the same tensors (a prefix of a ``bnn
prepare``-d CIFAR-10: ``--train-size`` training and ``--val-size`` validation images, all test images), with the
same settings (batch 128, crop 4 + flip, the recipe's optimizer, lr and schedule, fp32, one CPU thread per run),
for ``--epochs`` epochs and each ``--seeds``:

* ours: the recipe's stage specs from ``bnn plan --json config.yaml configs/cifar10_cpu.yaml`` (only ``data``,
  ``epochs``, ``seed``, ``amp: none`` and the teacher / init paths replaced), run by ``bnn train`` (the workflow's
  command), the test accuracy of its checkpoint scored as the authors' side's;
* theirs: the authors' model code and their per-epoch training function, imported from a checkout of their
  repository (``--authors DIR`` holds the clones ``IR-Net``, ``SD-BNN``, ``SKD-BNN``, ``ReActNet``; never copied
  here), driven by a loop that does what their ``main()`` does around it (the EDE k, t of every binary conv set
  per epoch, the lr scheduler stepped after each epoch, or at its start for ReActNet). Their data pipeline is
  torchvision's (RandomHorizontalFlip, RandomCrop(32, 4), ToTensor, Normalize with the prepared data's mean/std)
  on the same uint8 tensors; the scripts' hard-coded CUDA calls run on the CPU (``Tensor.cuda`` and
  ``Module.cuda`` return their argument).

  - ``irnet``: IR-Net ``CIFAR-10/ResNet20/1w1a`` (``resnet20_1w1a``, ``trainer.train``; the file is Python 2-era
    code, so it is compiled with ``cuda(async=True)`` read as ``cuda(non_blocking=True)`` and ``loss.data[0]``
    as ``loss.item()``, nothing else);
  - ``sdbnn``: SD-BNN ``cifar10/ResNet20`` (``resnet20_1w1a``, ``trainer.train``);
  - ``skdbnn``: SKD-BNN ``SKD-BNN code use Pytorch V2.1/CIFAR-10/ResNet20`` (``resnet20_1w1a``, ``trainer.train``
    with its soft-label bank; needs ``seaborn`` and ``tensorboardX`` importable, e.g. ``pip install --target``);
  - ``adambnn``: the two-step with distributional KD of ReActNet ``resnet/1_step1`` and ``resnet/2_step2``
    (``train.train``, ``KD_loss.DistributionLoss``, Adam with weight decay on conv weights only, LambdaLR linear).
    The authors have no CIFAR ResNet-20 for it, so their model is IR-Net's Bi-Real ResNet-20 skeleton (the other
    three recipes' architecture and ours) with each binary conv replaced by ReActNet's ``BinaryActivation``
    followed by a real ``conv3x3`` (step 1) or ``HardBinaryConv`` (step 2); the teacher of both sides is the same
    bnn-flow float ResNet-20 trained once (seed 0) on the same images.

Each run records per epoch the train loss (the epoch's running mean of the training objective, as each loop
reports it) and the validation accuracy (every validation image, eval mode), then the test accuracy. The same-
function check loads every trained authors' model's weights into the bnn-flow model of the recipe and compares
both models' logits on all test images (eval mode). Writes into ``--out``: ``fidelity.csv`` (per epoch),
``runs.json`` (test accuracy, parameter counts, same-function check per run), ``fidelity.md`` (the tables) and the
runs' folders and logs; finished runs are kept and not re-run. Not a test. Example (tens of minutes on 2 cores)::

    PYTHONPATH=. python benchmarks/fidelity.py --authors /path/to/clones --data results/data/cifar10 --out /tmp/fid
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import nn

REPOS = {  # recipe -> (clone, folder of the CIFAR-10 ResNet-20 code)
    "irnet": ("IR-Net", "CIFAR-10/ResNet20/1w1a"),
    "sdbnn": ("SD-BNN", "cifar10/ResNet20"),
    "skdbnn": ("SKD-BNN", "SKD-BNN code use Pytorch V2.1/CIFAR-10/ResNet20"),
    "adambnn": ("ReActNet", "resnet"),
}
STAGES = {"irnet": ["train"], "sdbnn": ["train"], "skdbnn": ["train"], "adambnn": ["step1", "step2"]}
CONFIGS = ["config.yaml", "configs/cifar10_cpu.yaml"]
SPEED = ["threads", "workers", "compile", "progress"]
EDE_RANGE = (1e-3, 1e1)  # every authors' main(): T_min, T_max of Log_UP


# ---- data ------------------------------------------------------------------------------------------------------
def write_subset(data: Path, out: Path, train_size: int, val_size: int) -> Path:
    """The first ``train_size`` / ``val_size`` images of a prepared folder (and all its test images), as a prepared
    folder bnn train reads."""
    target = out / "data"
    if (target / "meta.json").exists():
        return target
    target.mkdir(parents=True)
    meta = json.loads((data / "meta.json").read_text())
    for split, size in (("train", train_size), ("val", val_size), ("test", None)):
        tensors = torch.load(data / f"{split}.pt")
        if size is not None:
            tensors = {k: v[:size].clone() for k, v in tensors.items()}
        torch.save(tensors, target / f"{split}.pt")
        meta["splits"][split] = len(tensors["labels"])
    meta["val_size"] = meta["splits"]["val"]
    meta["fidelity_subset"] = f"first {train_size} train and {val_size} val images of {data}"
    (target / "meta.json").write_text(json.dumps(meta, indent=2))
    return target


def split_tensors(data: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised float images and labels of one split (the tensors every loop scores)."""
    meta = json.loads((data / "meta.json").read_text())
    tensors = torch.load(data / f"{split}.pt")
    mean = torch.tensor(meta["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(meta["std"]).view(1, 3, 1, 1)
    return (tensors["images"].float() / 255.0 - mean) / std, tensors["labels"]


@torch.no_grad()
def logits_of(model: nn.Module, images: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Eval-mode logits of every image (the first output where a model returns a tuple, as SKD-BNN's)."""
    model.eval()
    out = []
    for i in range(0, len(images), batch):
        y = model(images[i : i + batch])
        out.append(y[0] if isinstance(y, tuple) else y)
    return torch.cat(out)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    return 100.0 * (logits_of(model, images).argmax(1) == labels).float().mean().item()


# ---- ours ------------------------------------------------------------------------------------------------------
def plan_specs() -> dict[tuple[str, str], dict]:
    """(method, stage) -> stage spec of the CPU CIFAR-10 config (bnn plan --json)."""
    out = subprocess.run(["bnn", "plan", "--json", *CONFIGS], check=True, capture_output=True, text=True).stdout
    return {(s["run"]["method"], s["run"]["stage"]): s for s in json.loads(out)}


def run_ours(spec: dict, data: Path, run_dir: Path, epochs: int, seed: int, **paths: str) -> dict:
    """bnn train of one stage spec on the subset, as the workflow's rule runs it; its checkpoint's test accuracy."""
    spec = {k: v for k, v in spec.items() if k not in SPEED}
    spec.update(data=str(data), epochs=epochs, seed=seed, amp="none", **paths)
    spec["run"] = {**spec["run"], "seed": seed}
    run_dir.mkdir(parents=True, exist_ok=True)
    if not (run_dir / "checkpoint.pt").exists():
        with open(run_dir / "train.log", "w") as log:
            subprocess.run(
                ["bnn", "train", "--spec", json.dumps(spec), "--run-dir", str(run_dir), "--threads", "1"],
                check=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
    with open(run_dir / "metrics.csv") as f:
        rows = [
            {"epoch": int(r["epoch"]) + 1, "train_loss": float(r["train_loss"]), "val_acc": float(r["val_acc"])}
            for r in csv.DictReader(f)
        ]
    from bnn.train.checkpoint import read, rebuild

    model = rebuild(read(run_dir / "checkpoint.pt"), run_dir / "checkpoint.pt")
    return {"epochs": rows, "test_acc": accuracy(model, *split_tensors(data, "test"))}


# ---- theirs ----------------------------------------------------------------------------------------------------
def run_on_cpu() -> None:
    """The authors' scripts call .cuda() unconditionally: on this CPU run they return their argument."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    nn.Module.cuda = lambda self, *args, **kwargs: self


def import_file(name: str, path: Path, fixes: dict[str, str] | None = None):
    """Import one of the authors' files as a module (``fixes``: exact text replacements where today's Python or
    PyTorch refuses their code; each must occur)."""
    source = path.read_text()
    for old, new in (fixes or {}).items():
        if old not in source:
            raise SystemExit(f"{path}: {old!r} not found")
        source = source.replace(old, new)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def authors_loader(images: torch.Tensor, labels: torch.Tensor, meta: dict, padding_mode: str, seed: int):
    """Their trainers' train_loader on our tensors: flip, RandomCrop(32, 4), ToTensor, Normalize, batch 128,
    shuffle, drop_last."""
    from torchvision.transforms import v2

    transform = v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomCrop(32, padding=4, padding_mode={"zeros": "constant", "edge": "edge"}[padding_mode]),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(meta["mean"], meta["std"]),
        ]
    )

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            return transform(images[i]), labels[i]

    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(Images(), batch_size=128, shuffle=True, drop_last=True, generator=generator)


def set_ede(model: nn.Module, epoch: int, epochs: int) -> None:
    """Their main(): t = 10^(log10 T_min + (log10 T_max - log10 T_min) * epoch / epochs), k = max(1/t, 1), set on
    both convs of every block."""
    lo, hi = (math.log10(v) for v in EDE_RANGE)
    t = torch.tensor([10 ** (lo + (hi - lo) / epochs * epoch)]).float()
    k = 1 / t if t < 1 else torch.tensor([1.0])
    for layer in (model.layer1, model.layer2, model.layer3):
        for block in layer:
            for conv in (block.conv1, block.conv2):
                conv.k, conv.t = k, t


def twostep_model(authors: Path, step: str) -> nn.Module:
    """IR-Net's Bi-Real ResNet-20 skeleton with ReActNet's binary activation + conv (see the module docstring)."""
    sys.path.insert(0, str(authors / "IR-Net" / REPOS["irnet"][1]))  # resnet.py imports its modules/
    skeleton = import_file("resnet", authors / "IR-Net" / REPOS["irnet"][1] / "resnet.py")
    folder = {"step1": "1_step1", "step2": "2_step2"}[step]
    bireal = import_file("birealnet", authors / "ReActNet" / "resnet" / folder / "birealnet.py")
    model = skeleton.ResNet(skeleton.BasicBlock_1w1a, [3, 3, 3])
    for layer in (model.layer1, model.layer2, model.layer3):
        for block in layer:
            for name in ("conv1", "conv2"):
                old = getattr(block, name)
                conv = (
                    bireal.conv3x3(old.in_channels, old.out_channels, old.stride[0])
                    if step == "step1"
                    else bireal.HardBinaryConv(old.in_channels, old.out_channels, stride=old.stride[0])
                )
                setattr(block, name, nn.Sequential(bireal.BinaryActivation(), conv))
    model.apply(skeleton._weights_init)  # IR-Net's init of the skeleton (kaiming normal on Conv2d and Linear)
    return model


class RecordedLoss(nn.CrossEntropyLoss):
    """Their criterion, nn.CrossEntropyLoss, keeping the epoch's running mean of the loss their train() prints
    (IR-Net's train() returns nothing)."""

    def __init__(self):
        super().__init__()
        self.total, self.count = 0.0, 0

    def forward(self, output, target):
        loss = super().forward(output, target)
        self.total, self.count = self.total + loss.item() * len(target), self.count + len(target)
        return loss

    def epoch_mean(self) -> float:
        mean, self.total, self.count = self.total / self.count, 0.0, 0
        return mean


def run_theirs(
    recipe: str,
    stage: str,
    authors: Path,
    data: Path,
    run_dir: Path,
    epochs: int,
    seed: int,
    spec: dict,
    teacher: str | None,
    init: str | None,
) -> None:
    """One authors' run (in its own process: every repository has its own ``resnet`` module)."""
    run_on_cpu()
    torch.set_num_threads(1)
    random.seed(seed)
    torch.manual_seed(seed)
    repo, folder = REPOS[recipe]
    code = authors / repo / folder
    meta = json.loads((data / "meta.json").read_text())
    train = torch.load(data / "train.pt")
    val_x, val_y = split_tensors(data, "val")
    test_x, test_y = split_tensors(data, "test")
    loader = authors_loader(train["images"], train["labels"], meta, spec["augment"].get("padding_mode", "zeros"), seed)
    opt = spec["optimizer"]
    os.chdir(run_dir)  # their scripts write logs into the working folder
    if recipe == "adambnn":
        step_folder = code / {"step1": "1_step1", "step2": "2_step2"}[stage]
        sys.path[:0] = [str(authors / repo), str(step_folder)]
        model = twostep_model(authors, stage)
        if init:
            model.load_state_dict(torch.load(init), strict=False)  # their step 2: checkpoint_ba, strict=False
        sys.argv = [
            "train.py",
            "--epochs",
            str(epochs),
            "--learning_rate",
            str(opt["lr"]),
            "--weight_decay",
            str(opt.get("weight_decay", 0)),
            "--batch_size",
            "128",
        ]
        package = sys.modules.setdefault("utils", types.ModuleType("utils"))  # their utils/ has no __init__.py
        package.__path__ = [str(authors / repo / "utils")]
        package.utils = import_file(
            "utils.utils",
            authors / repo / "utils" / "utils.py",  # a view of a slice
            {"correct[:k].view(-1)": "correct[:k].reshape(-1)"},
        )  # fails since torch 1.5
        trainer = import_file("train", step_folder / "train.py")
        from bnn.train.checkpoint import read, rebuild

        net, teacher_net = nn.DataParallel(model), nn.DataParallel(rebuild(read(teacher), teacher))
        for p in teacher_net.parameters():
            p.requires_grad = False
        weights = [p for n, p in net.named_parameters() if p.ndimension() == 4 or "conv" in n]  # their main()
        others = [p for p in net.parameters() if all(p is not w for w in weights)]
        optimizer = torch.optim.Adam(
            [{"params": others}, {"params": weights, "weight_decay": trainer.args.weight_decay}],
            lr=trainer.args.learning_rate,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / epochs)
        kd = import_file("KD_loss", authors / repo / "utils" / "KD_loss.py").DistributionLoss()

        def one_epoch(epoch: int) -> float:  # their train() steps the scheduler first
            return trainer.train(epoch, loader, net, teacher_net, kd, optimizer, scheduler)[0]
    else:
        sys.path.insert(0, str(code))
        fixes = {
            "cuda(async=True)": "cuda(non_blocking=True)",
            "loss.data[0]": "loss.item()",
            "accuracy(output.data, target)[0]": "accuracy(output.data, target)",
        }  # a 0-dim sum since torch 0.4
        trainer = import_file("trainer", code / "trainer.py", fixes if recipe == "irnet" else None)
        model = sys.modules["resnet"].resnet20_1w1a()
        trainer.args = argparse.Namespace(
            half=False,
            print_freq=10**9,
            epochs=epochs,
            batch_size=128,
            num_classes=10,
            Feature_alpha=1.0,
            Label_beta=0.05,
            temperature=4.0,
            Cluster_gamma=0.01,
            Use_tSNE=False,
        )
        net = nn.DataParallel(model)
        optimizer = torch.optim.SGD(
            filter(lambda p: p.requires_grad, net.parameters()),
            opt["lr"],
            momentum=opt["momentum"],
            weight_decay=opt["weight_decay"],
        )
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs, eta_min=0)
        criterion = RecordedLoss()
        bank = torch.zeros(10, 10)  # SKD-BNN's soft-label bank

        def one_epoch(epoch: int) -> float:
            nonlocal bank
            set_ede(model, epoch, epochs)
            if recipe == "skdbnn":  # returns the epoch's mean total loss (CE + its three terms) and the new bank
                _, loss, _, _, _, bank = trainer.train(
                    loader, net, criterion, optimizer, epoch, None, trainer.args, bank
                )
            else:
                trainer.train(loader, net, criterion, optimizer, epoch)
                loss = criterion.epoch_mean()
            scheduler.step()
            return loss

    rows = []
    for epoch in range(epochs):
        loss = float(one_epoch(epoch))
        rows.append({"epoch": epoch + 1, "train_loss": loss, "val_acc": accuracy(model, val_x, val_y)})
        print(f"[{recipe} {stage} seed {seed}] {rows[-1]}", flush=True)
    torch.save(model.state_dict(), run_dir / "model.pt")
    logits = logits_of(model, test_x)
    torch.save(logits, run_dir / "logits.pt")
    torch.save(logits_of(model.double(), test_x.double()), run_dir / "logits64.pt")  # the same-function check
    result = {
        "epochs": rows,
        "test_acc": 100.0 * (logits.argmax(1) == test_y).float().mean().item(),
        "params": sum(p.numel() for p in model.parameters()),
    }
    (run_dir / "result.json").write_text(json.dumps(result))


# ---- same function ---------------------------------------------------------------------------------------------
def our_key(key: str, recipe: str) -> str:
    """An authors' ResNet-20 state_dict key as the bnn-flow resnet20_bireal key of the same tensor."""
    parts = key.split(".")
    if parts[0] in ("conv1", "bn1"):
        return ".".join(["stem", "0" if parts[0] == "conv1" else "1", *parts[1:]])
    if parts[0] in ("bn2", "linear"):
        return ".".join(["head", "2" if parts[0] == "bn2" else "3", *parts[1:]])
    layer, block, name, rest = int(parts[0][-1]), int(parts[1]), parts[2], parts[3:]
    index = (layer - 1) * 6 + block * 2 + (int(name[-1]) - 1)
    kind = "conv" if name.startswith("conv") else "bn"
    if kind == "conv":
        if recipe == "adambnn":
            rest = rest[1:]  # Sequential(BinaryActivation, conv): the conv is item 1
        if rest[0] == "dybeta":  # SD-BNN's ASD: SE fc.0 / fc.2 = our asd.body.0 / body.2
            rest = ["asd", "body", *rest[2:]]
    return ".".join(["blocks", str(index), kind, *rest])


def same_function(recipe: str, ours_checkpoint: Path, theirs: Path, data: Path) -> dict:
    """Load the authors' trained weights into our trained model of the recipe (its layers' binary states and
    estimators as our run left them); compare both models' test logits."""
    from bnn.train.checkpoint import read, rebuild

    ours = rebuild(read(ours_checkpoint), ours_checkpoint)
    mapped = {our_key(k, recipe): v for k, v in torch.load(theirs / "model.pt").items()}
    missing = [k for k in ours.state_dict() if k not in mapped and "_estimator." not in k]
    if missing:
        raise SystemExit(f"{recipe}: our keys without an authors' tensor: {missing[:5]}")
    ours.load_state_dict({k: mapped.get(k, v) for k, v in ours.state_dict().items()})
    check = {"params": sum(p.numel() for p in ours.parameters())}
    x, _ = split_tensors(data, "test")
    for suffix, dtype in (("", torch.float32), ("64", torch.float64)):
        reference, mine = torch.load(theirs / f"logits{suffix}.pt"), logits_of(ours.to(dtype), x.to(dtype))
        check[f"max_abs_logit_diff{suffix}"] = (mine - reference).abs().max().item()
        check[f"top1_agreement{suffix}"] = 100.0 * (mine.argmax(1) == reference.argmax(1)).float().mean().item()
    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authors", type=Path, required=True, help="folder of the authors' clones")
    parser.add_argument("--data", type=Path, required=True, help="prepared CIFAR-10 (bnn prepare)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--recipes", nargs="+", default=list(REPOS), choices=list(REPOS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (per step of the two-step)")
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--val-size", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side, one CPU thread each")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)  # RECIPE STAGE SEED RUN_DIR PATHS_JSON
    args = parser.parse_args()
    args.out = args.out.resolve()
    data = write_subset(args.data.resolve(), args.out, args.train_size, args.val_size)
    specs = plan_specs()
    if args.worker:
        recipe, stage, seed, run_dir, paths = args.worker
        paths = json.loads(paths)
        run_theirs(
            recipe,
            stage,
            args.authors.resolve(),
            data,
            Path(run_dir),
            args.epochs,
            int(seed),
            specs[(recipe, stage)],
            paths.get("teacher"),
            paths.get("init"),
        )
        return
    authors = args.authors.resolve()
    ours_root, theirs_root = args.out / "ours", args.out / "theirs"
    teacher = ours_root / "teacher"

    def ours(recipe: str, seed: int) -> list[dict]:
        results, previous = [], None
        for stage in STAGES[recipe]:
            spec = specs[(recipe, stage)]
            paths = {"teacher": str(teacher / "checkpoint.pt")} if spec.get("teacher") else {}
            if spec.get("init"):
                paths["init"] = str(previous / "checkpoint.pt")
            previous = ours_root / recipe / f"seed{seed}" / stage
            results.append(run_ours(spec, data, previous, args.epochs, seed, **paths))
        return results

    def theirs(recipe: str, seed: int) -> list[dict]:
        results, previous = [], None
        for stage in STAGES[recipe]:
            run_dir = theirs_root / recipe / f"seed{seed}" / stage
            run_dir.mkdir(parents=True, exist_ok=True)
            paths = {"teacher": str(teacher / "checkpoint.pt")} if recipe == "adambnn" else {}
            if previous:
                paths["init"] = str(previous / "model.pt")
            if not (run_dir / "result.json").exists():
                command = [
                    sys.executable,
                    __file__,
                    "--authors",
                    str(authors),
                    "--data",
                    str(args.data),
                    "--out",
                    str(args.out),
                    "--epochs",
                    str(args.epochs),
                    "--train-size",
                    str(args.train_size),
                    "--val-size",
                    str(args.val_size),
                    "--worker",
                    recipe,
                    stage,
                    str(seed),
                    str(run_dir),
                    json.dumps(paths),
                ]
                with open(run_dir / "train.log", "w") as log:
                    subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT)
            results.append(json.loads((run_dir / "result.json").read_text()))
            previous = run_dir
        return results

    started = time.time()
    jobs = [(side, recipe, seed) for recipe in args.recipes for seed in args.seeds for side in ("ours", "theirs")]
    with ThreadPoolExecutor(args.jobs) as pool:
        if "adambnn" in args.recipes:  # the teacher of both sides' two-step, first
            pool.submit(run_ours, specs[("float", "train")], data, teacher, args.epochs, 0).result()
        futures = {job: pool.submit(ours if job[0] == "ours" else theirs, job[1], job[2]) for job in jobs}
        results = {job: future.result() for job, future in futures.items()}
    report(args, data, results, time.time() - started)


def report(args, data: Path, results: dict, seconds: float) -> None:
    """fidelity.csv, runs.json and fidelity.md from every run's results."""
    rows, runs = [], []
    for (side, recipe, seed), stages in results.items():
        for stage, result in zip(STAGES[recipe], stages):
            rows += [{"side": side, "recipe": recipe, "stage": stage, "seed": seed, **r} for r in result["epochs"]]
        run = {"side": side, "recipe": recipe, "seed": seed, "test_acc": stages[-1]["test_acc"]}
        if side == "theirs":
            final = args.out / "theirs" / recipe / f"seed{seed}" / STAGES[recipe][-1]
            run["authors_params"] = stages[-1]["params"]
            mine = args.out / "ours" / recipe / f"seed{seed}" / STAGES[recipe][-1] / "checkpoint.pt"
            run["same_function"] = same_function(recipe, mine, final, data)
        runs.append(run)
    with open(args.out / "fidelity.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = {
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "seconds": round(seconds),
        "epochs": args.epochs,
        "train_size": args.train_size,
        "val_size": args.val_size,
        "seeds": args.seeds,
        "authors_files": {r: files_digest(args.authors / REPOS[r][0]) for r in args.recipes},
    }
    (args.out / "runs.json").write_text(json.dumps({"env": env, "runs": runs}, indent=2))
    (args.out / "fidelity.md").write_text(tables(rows, runs, env))


def spread(values: list[float]) -> str:
    """Mean and, over more than one seed, half the range (min..max / 2)."""
    mean = statistics.fmean(values)
    return f"{mean:.3f}" if len(values) == 1 else f"{mean:.3f} ± {(max(values) - min(values)) / 2:.3f}"


def tables(rows: list[dict], runs: list[dict], env: dict) -> str:
    lines = [
        f"{env['epochs']} epochs, {env['train_size']} train / {env['val_size']} val images, seeds "
        f"{env['seeds']}, {env['cpu']}, torch {env['torch']}, {env['seconds']} s",
        "",
    ]
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        lines += [
            f"### {recipe}",
            "",
            "| stage | epoch | train loss, ours | train loss, theirs | val %, ours | val %, theirs |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        keys = dict.fromkeys((r["stage"], r["epoch"]) for r in rows if r["recipe"] == recipe)
        for stage, epoch in keys:
            cell = {
                side: [
                    r for r in rows if (r["recipe"], r["stage"], r["epoch"], r["side"]) == (recipe, stage, epoch, side)
                ]
                for side in ("ours", "theirs")
            }
            values = [
                spread([r[key] for r in cell[side]]) for key in ("train_loss", "val_acc") for side in ("ours", "theirs")
            ]
            lines.append(f"| {stage} | {epoch} | " + " | ".join(values) + " |")
        test = {
            side: [r["test_acc"] for r in runs if (r["recipe"], r["side"]) == (recipe, side)]
            for side in ("ours", "theirs")
        }
        checks = [r for r in runs if r["recipe"] == recipe and r["side"] == "theirs"]
        lines += [
            "",
            f"test %: ours {spread(test['ours'])} ({', '.join(f'{v:.2f}' for v in test['ours'])}), theirs "
            f"{spread(test['theirs'])} ({', '.join(f'{v:.2f}' for v in test['theirs'])}); parameters: ours "
            f"{checks[0]['same_function']['params']}, theirs {checks[0]['authors_params']}; same function "
            "(their trained weights in our model, 10000 test images, per seed): "
            + "; ".join(same_line(c["same_function"], suffix) for suffix in ("", "64") for c in checks),
            "",
        ]
    return "\n".join(lines) + "\n"


def same_line(check: dict, suffix: str) -> str:
    return (
        f"{'float64' if suffix else 'fp32'} max |logit difference| {check['max_abs_logit_diff' + suffix]:.2e}, "
        f"top-1 agreement {check['top1_agreement' + suffix]:.2f} %"
    )


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def files_digest(repo: Path) -> dict[str, str]:
    """sha256 (first 12 hex) of every .py file used from a clone, to name what was run."""
    return {
        str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
        for p in sorted(repo.rglob("*.py"))
        if "ResNet20" in str(p) or "resnet/" in str(p) or "utils/" in str(p)
    }


if __name__ == "__main__":
    main()
