"""A stage as 2 processes (gloo, CPU) under the real launcher equals one process with the same global batch."""

import csv
import json
import os
import socket
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from bnn.data import TensorLoader, load_split
from bnn.data.augment import Augment
from bnn.data.stream import EpochBatches
from bnn.errors import BnnError
from bnn.losses.skd import SoftLabelBank
from bnn.plan.experiments import Plan
from bnn.train.run import run_stage


def rows(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_gloo_processes_train_like_one_process(stage_spec, tmp_path):
    # no BatchNorm: on CPU each process would normalise its half batch with its own statistics
    spec = stage_spec(
        model={"arch": "mlp", "hidden": [32, 32], "batch_norm": False},
        epochs=2,
        schedule={"weights": "binary", "acts": "binary", "layers": "inner"},
    )
    run_stage(spec, tmp_path / "one")
    two = {**spec.to_dict(), "distributed": {"nproc": 2, "backend": "gloo"}}
    env = {**os.environ, "PYTHONPATH": str(REPO), "BNN_GPU_LOCK_DIR": str(tmp_path / "locks")}
    result = subprocess.run(
        [sys.executable, "-m", "bnn", "train", "--spec", json.dumps(two), "--run-dir", str(tmp_path / "two")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "launching 2 processes" in result.stdout and result.stdout.count("epoch 2/2") == 1  # rank 0 prints
    assert not (tmp_path / "locks").exists()  # CPU: no GPU lock taken

    one = torch.load(tmp_path / "one/checkpoint.pt", weights_only=True)["state_dict"]
    two_ckpt = torch.load(tmp_path / "two/checkpoint.pt", weights_only=True)
    assert one.keys() == two_ckpt["state_dict"].keys()
    for name, tensor in one.items():
        torch.testing.assert_close(two_ckpt["state_dict"][name], tensor, atol=1e-5, rtol=0, msg=name)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["checkpoint.pt", "metrics.csv", "spec.yaml"]

    single, double = rows(tmp_path / "one"), rows(tmp_path / "two")
    assert len(single) == len(double) == 2
    for a, b in zip(single, double):
        for column in ("epoch", "lr", "binary_weight_layers", "binary_act_layers"):
            assert a[column] == b[column], column
        for column in ("train_loss", "train_acc", "val_loss", "val_acc", "flip_ratio"):
            assert float(a[column]) == pytest.approx(float(b[column]), abs=1e-4), column


def test_rank_slices_of_augmented_batches_make_up_the_one_process_batch(digits_dir):
    def loader(shard):
        made = TensorLoader(
            load_split(digits_dir, "train"),
            64,
            [0.5],
            [0.25],
            torch.device("cpu"),
            shuffle=True,
            drop_last=True,
            seed=3,
            augment=Augment(crop=2, flip=True),
            shard=shard,
        )
        made.set_epoch(1)
        return list(made)

    whole, first, second = loader((0, 1)), loader((0, 2)), loader((1, 2))
    assert len(whole) == len(first) == len(second) > 1
    for (x, y), (x0, y0), (x1, y1) in zip(whole, first, second):
        assert len(y0) == len(y1) == 32
        assert torch.equal(torch.cat([x0, x1]), x) and torch.equal(torch.cat([y0, y1]), y)
    with pytest.raises(BnnError, match="batch_size: 64 must be divisible by the 3 processes"):
        TensorLoader(
            load_split(digits_dir, "train"), 64, [0.5], [0.25], torch.device("cpu"), drop_last=True, shard=(0, 3)
        )


def test_rank_slices_of_streamed_batches_make_up_the_one_process_batch():
    def batches(shard):
        sampler = EpochBatches(100, 10, shuffle=True, drop_last=True, seed=3, train=True, shard=shard)
        sampler.epoch = 2
        return list(sampler)

    whole, first, second = batches((0, 1)), batches((0, 2)), batches((1, 2))
    assert len(whole) == 10 and [a + b for a, b in zip(first, second)] == whole


def test_nproc_must_divide_the_global_batch(stage_spec, default_config, tmp_path):
    with pytest.raises(BnnError, match=r"^spec.distributed.nproc: 3 processes cannot split batch_size 64"):
        run_stage(stage_spec(distributed={"nproc": 3}), tmp_path)
    with pytest.raises(
        BnnError, match=r"^spec.distributed.nproc: 2, but this process is one of 1; run the stage with bnn"
    ):
        run_stage(stage_spec(distributed={"nproc": 2}), tmp_path)
    config = {**default_config, "train": {**default_config["train"], "distributed": {"nproc": 3}}}
    with pytest.raises(BnnError, match=r"^train.distributed.nproc: 3 processes cannot split batch_size 64"):
        Plan(config)
    config["train"]["distributed"] = {"nproc": 2, "backend": "nccl"}
    config["train"]["device"] = "cpu"
    with pytest.raises(BnnError, match=r"^train.distributed.backend: nccl needs CUDA"):
        Plan(config)


def bank_of_rank(rank: int, port: int, logits: torch.Tensor, labels: torch.Tensor, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    bank = SoftLabelBank(4)
    bank.observe(logits[rank::2], labels[rank::2])
    bank.on_epoch_end(0)
    torch.save(bank.state_dict(), f"{out}{rank}.pt")
    torch.distributed.destroy_process_group()


def test_skd_label_bank_gathers_every_rank(tmp_path):
    logits, labels = torch.randn(40, 4, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 4
    alone = SoftLabelBank(4)
    alone.observe(logits, labels)
    alone.on_epoch_end(0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(bank_of_rank, args=(port, logits, labels, str(tmp_path / "bank")), nprocs=2)
    for rank in (0, 1):
        state = torch.load(tmp_path / f"bank{rank}.pt", weights_only=True)
        torch.testing.assert_close(state["bank"], alone.bank)
        assert torch.equal(state["valid"], alone.valid)
