"""Reliability: resume after SIGKILL, non-finite loss, bad configs that start no job."""

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil
import pytest
import torch
import yaml
from conftest import REPO, snakemake_command, snakemake_env

from bnn.config.spec import StageSpec
from bnn.errors import BnnError
from bnn.evaluation.evaluate import evaluate
from bnn.io import load_torch, read_config
from bnn.losses import TERMS
from bnn.losses.distillation import CrossEntropy
from bnn.train import resume
from bnn.train.run import run_stage

STEPS_PER_EPOCH = 1221 // 64  # digits train split, drop_last


class NanAfter(CrossEntropy):
    """Cross-entropy that turns NaN after ``calls`` batches: an injected numerical failure."""

    def __init__(self, num_classes: int, calls: int):
        super().__init__(num_classes)
        self.calls, self.seen = calls, 0

    def forward(self, step):
        self.seen += 1
        loss = super().forward(step)
        return loss * float("nan") if self.seen > self.calls else loss


if "test_nan_after" not in TERMS:
    TERMS.register("test_nan_after")(NanAfter)


def test_nan_loss_stops_the_stage_and_keeps_the_last_good_epoch(stage_spec, tmp_path):
    spec = stage_spec(epochs=5, loss={"test_nan_after": {"weight": 1.0, "calls": 2 * STEPS_PER_EPOCH}})
    with pytest.raises(BnnError, match=r"stage digits/mlp/test/0/train epoch 2 batch 0: non-finite loss \(nan\)"):
        run_stage(spec, tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists()
    state = load_torch(tmp_path / resume.FILENAME)
    assert state["epochs_done"] == 2 and len(state["rows"]) == 2
    assert all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())
    assert len(pd.read_csv(tmp_path / "metrics.csv")) == 2

    changed = stage_spec(epochs=3)
    run_stage(changed, tmp_path)  # another spec: the stale state is ignored, not resumed
    assert pd.read_csv(tmp_path / "metrics.csv")["epoch"].tolist() == [0, 1, 2]
    assert not (tmp_path / resume.FILENAME).exists()


@pytest.mark.workflow
def test_sigkilled_stage_resumes_and_matches_an_uninterrupted_run(tmp_path):
    overlay = {"models": ["convnet"], "methods": ["float"], "train": {"epochs": 16}}
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    run = tmp_path / "results/runs/digits/convnet/float/seed0/train"
    first = subprocess.Popen(
        snakemake_command(tmp_path, "--cores", "1", configfile=tmp_path / "overlay.yaml"),
        env=snakemake_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            if (run / resume.FILENAME).exists() and len(load_torch(run / resume.FILENAME)["rows"]) >= 3:
                break
            assert first.poll() is None, "snakemake ended before the stage could be killed"
            time.sleep(0.05)
        trainers = [
            p
            for p in psutil.Process(first.pid).children(recursive=True)
            if "train" in p.cmdline() and any(part.endswith("bnn") for part in p.cmdline()[:2])
        ]
        assert trainers, "no bnn train process found"
        for process in trainers:
            process.send_signal(signal.SIGKILL)
        assert first.wait(timeout=120) != 0
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = load_torch(run / resume.FILENAME)["epochs_done"]
    assert 3 <= killed_at < 16 and not (run / "checkpoint.pt").exists()

    second = subprocess.run(
        snakemake_command(tmp_path, "--cores", "1", configfile=tmp_path / "overlay.yaml"),
        env=snakemake_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    log = (run / "train.log").read_text()
    assert f"resuming from epoch {killed_at + 1}" in log
    assert f"epoch {killed_at}/16" not in log and "epoch 16/16" in log  # only the missing epochs ran

    reference = tmp_path / "reference"
    spec = read_config(str(run / "spec.yaml"))
    run_stage(StageSpec.parse({**spec, "data": str(tmp_path / spec["data"])}), reference)
    resumed_rows = pd.read_csv(run / "metrics.csv").drop(columns="seconds")
    reference_rows = pd.read_csv(reference / "metrics.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(resumed_rows, reference_rows)
    resumed_eval = json.loads((run / "eval.json").read_text())
    assert resumed_eval["top1"] == evaluate(reference / "checkpoint.pt", tmp_path / "results/data/digits")["top1"]
    for name, tensor in load_torch(reference / "checkpoint.pt")["state_dict"].items():
        assert torch.equal(tensor, load_torch(run / "checkpoint.pt")["state_dict"][name]), name


@pytest.mark.workflow
@pytest.mark.parametrize(
    "overlay,message",
    [
        ({"train": {"epochs": 0}}, "config: train.epochs: 0 must be an integer >= 1"),
        (
            {"train": {"optimizer": {"name": "adam", "lr": "1e-3"}}},
            "config: train.optimizer.lr: '1e-3' must be a number >= 0 (YAML reads 1e-3 as text: write it with a dot",
        ),
        ({"train": {"amp": "fp16"}}, "config: train.amp: 'fp16' must be one of none, bf16, binary_bf16"),
        ({"train": {"loss": {"ce": -1.0}}}, "config: train.loss.ce: -1.0 must be a number >= 0"),
        (
            {"scale": "smoke", "scales": {"smoke": {"train": {"epoch": 1}}}},
            "config: train.epoch: unknown key (did you mean 'epochs'?)",
        ),
        ({"methods": ["float", "adambn"]}, "config: methods: unknown recipe 'adambn' (did you mean 'adambnn'?)"),
        (
            {
                "recipes": {
                    "iterative-forward": {
                        "stages": [
                            {
                                "name": "train",
                                "schedule": {"weights": {"order": "1324", "epochs_per_layer": 1}, "layers": "all"},
                            }
                        ]
                    }
                }
            },
            "config: recipes.iterative-forward.stages[0].schedule.weights.order: [1, 3, 2, 4] is not a permutation",
        ),
        ({"trian": {"epochs": 3}}, "config: trian: unknown key (did you mean 'train'?)"),
        ({"seed": [1, 2]}, "config: seed: unknown key (did you mean 'seeds'?)"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, overlay, message):
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    result = subprocess.run(
        snakemake_command(tmp_path, "--cores", "1", configfile=tmp_path / "overlay.yaml"),
        env=snakemake_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("config: ")]
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr[-2000:]
    assert not (tmp_path / "results").exists()
    plan = subprocess.run(  # bnn plan refuses it with the same line
        [sys.executable, "-m", "bnn", "plan", str(REPO / "config.yaml"), str(tmp_path / "overlay.yaml")],
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 2 and plan.stderr.strip() == "bnn: error: " + lines[0].removeprefix("config: ")
