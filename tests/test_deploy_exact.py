"""Deploys that are exact or refused (docs/deploy.md): trained tiny networks whose binary layers read any
number of input channels, with either sign(0) convention (exact zeros included), at batch 1 and 64, agree
with PyTorch on every test image; a deploy that does not agree is refused and leaves no folder."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import torch
from torch import nn

from bnn.cli import main
from bnn.data import make_loader, read_meta
from bnn.deploy import openvino_graph
from bnn.deploy.artifacts import export_model
from bnn.deploy.cpu import binary_kernel_expected
from bnn.deploy.verify import MIN_AGREEMENT, gate, verify
from bnn.errors import BnnError
from bnn.nn import BinaryConv2d, BinaryLinear

BATCHES = (1, 64)
# (input channels of both binary layers, conv kernel, stride, padding): channel counts around multiples of 8
SHAPES = [
    (1, 3, 1, 1),
    (3, 3, 2, 0),
    (7, 1, 1, 0),
    (9, 3, 1, 1),
    (20, 3, 2, 1),
    (36, 3, 1, 1),
    (65, 1, 1, 0),
]


class Tiny(nn.Module):
    """Real conv (1 -> C) + BN + activation, W1/A1 conv (C -> C) + BN + activation, average pool, W1/A1 Linear
    (C -> 10) + BN; ``relu`` makes exact zeros in the binary layers' inputs."""

    def __init__(self, channels: int, kernel: int, stride: int, padding: int, sign_zero: str, relu: bool):
        super().__init__()
        act = nn.ReLU if relu else nn.Hardtanh
        binary = {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "channel_mean"}
        conv = BinaryConv2d(channels, channels, kernel, stride=stride, padding=padding, bias=False)
        linear = BinaryLinear(channels, 10, bias=False)
        for layer in (conv, linear):
            layer.configure(**binary, sign_zero=sign_zero)
            layer.set_binary(True, True)
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), act(),
            conv, nn.BatchNorm2d(channels), act(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear, nn.BatchNorm1d(10),
        )  # fmt: skip

    def forward(self, x):
        return self.body(x)


def trained(make, digits_dir, steps: int = 40) -> nn.Module:
    """A model from ``make()`` trained ``steps`` Adam steps on the digits training split (its BN statistics
    included), reloaded into a fresh ``make()`` as a checkpoint would be, in eval."""
    torch.manual_seed(0)
    model = make()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loader = make_loader(digits_dir, read_meta(digits_dir), "train", 64, torch.device("cpu"), train=True)
    model.train()
    done = 0
    while done < steps:
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            done += 1
            if done == steps:
                break
    fresh = make()
    fresh.load_state_dict(model.state_dict())
    return fresh.eval()


def deploy_and_verify(model, digits_dir, tmp_path) -> dict:
    deployed = export_model(model, (1, 8, 8), tmp_path, tmp_path, threads=1, batches=(1, *BATCHES))
    return {"deployed": deployed, **verify(deployed, digits_dir, read_meta(digits_dir), 1, BATCHES)}


@pytest.mark.parametrize("sign_zero", ["plus", "zero"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"c{s[0]}" for s in SHAPES])
def test_any_channel_count_and_sign_convention_deploys_exactly(shape, sign_zero, digits_dir, tmp_path):
    relu = sign_zero == "zero"  # sign0 layers also get exact zeros
    model = trained(lambda: Tiny(*shape, sign_zero, relu), digits_dir)
    result = deploy_and_verify(model, digits_dir, tmp_path)
    if relu:
        assert result["sign_zero_inputs"] > 0
    assert set(result["cases"]) == {"torch-binary", "openvino-binary@1", "openvino-binary@64", "onnxruntime"}
    for name, record in result["cases"].items():
        assert record["agreement_pct"] == 100.0, name
        assert record["max_logit_diff"] <= record["logit_tolerance"], name
    gate(result)
    if binary_kernel_expected():
        assert all(result["deployed"].compiled.values()) and len(result["deployed"].compiled) == 2


def test_the_mlp_of_the_issue_with_relu_and_sign0_deploys_exactly(digits_dir, tmp_path):
    """mlp [64, 64], ReLU, sign_zero: zero agreed on 10.6 % of images when sign(0) was deployed as +1."""
    from bnn.nn import set_layer_states
    from bnn.spec import BinarySpec, ModelSpec
    from bnn.stage_model import build_model

    def make():
        model = build_model(
            ModelSpec.parse({"arch": "mlp", "hidden": [64, 64, 36], "activation": "relu"}, "model"),
            10,
            (1, 8, 8),
            BinarySpec.parse({"sign_zero": "zero", "scaling": "channel_mean"}, "binary"),
        )
        set_layer_states(model, [[False, False], [True, True], [True, True], [False, False]])
        return model

    result = deploy_and_verify(trained(make, digits_dir), digits_dir, tmp_path)
    assert result["sign_zero_inputs"] > 1000
    assert min(record["agreement_pct"] for record in result["cases"].values()) == 100.0
    gate(result)


def test_gate_refuses_a_deploy_that_disagrees(digits_dir, tmp_path):
    """Without the channel padding the kernel miscounts 20 input channels: the gate names the case, the
    agreement and the tolerance in one line."""
    if not binary_kernel_expected():
        pytest.skip("this CPU has no OpenVINO binary kernel (needs x86 AVX2 and OpenVINO's BIN capability)")
    model = trained(lambda: Tiny(20, 3, 1, 1, "plus", relu=False), digits_dir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino_graph, "CHANNEL_BLOCK", 1)  # the mapping before the padding
        result = deploy_and_verify(model, digits_dir, tmp_path)
    assert result["cases"]["openvino-binary@1"]["agreement_pct"] < MIN_AGREEMENT
    with pytest.raises(BnnError, match=r"^deploy: openvino-binary at batch 1 agrees with PyTorch on \d") as err:
        gate(result)
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def checkpoint_20(stage_spec, tmp_path_factory):
    """A 1-epoch W1/A1 convnet on digits whose binary convs read 20 and 36 channels (issue's 9.4 % case)."""
    from bnn.train import run_stage

    run_dir = tmp_path_factory.mktemp("run20")
    spec = stage_spec(
        model={"arch": "convnet", "channels": [20, 36, 44]},
        epochs=1,
        schedule={"weights": "binary", "acts": "binary"},
        binary={"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "channel_mean"},
    )
    run_stage(spec, run_dir)
    return run_dir / "checkpoint.pt", spec.data


def deploy_argv(checkpoint, data, out) -> list[str]:
    return ["deploy", "--checkpoint", str(checkpoint), "--data", str(data), "--out-dir", str(out)] + [
        *["--batch", "1", "--batch", "64", "--threads", "1", "--repeats", "3"]
    ]


def test_bnn_deploy_of_the_issue_convnet_agrees_on_every_image(checkpoint_20, tmp_path, capsys):
    assert main(deploy_argv(*checkpoint_20, tmp_path / "deploy")) == 0
    rows = pd.read_csv(tmp_path / "deploy" / "inference.csv")
    verified = rows[rows["backend"].isin(["openvino-binary", "onnxruntime"])]
    assert (verified["agreement_pct"] == 100.0).all() and (verified["test_images"] == 360).all()
    assert set(verified[verified["backend"] == "openvino-binary"]["batch"]) == set(BATCHES)


def test_a_refused_deploy_exits_nonzero_and_leaves_no_folder(checkpoint_20, tmp_path, capsys):
    out = tmp_path / "deploy"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino_graph, "CHANNEL_BLOCK", 1)
        code = main(deploy_argv(*checkpoint_20, out))
    if not binary_kernel_expected():
        assert code == 0
        return
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("bnn: error: deploy: openvino-binary at batch 1 agrees with PyTorch on")
    assert "first wrong layer: features.3 (its binary convolution's counts are off by up to" in err  # 20 inputs
    assert "\n" not in err and not out.exists() and list(tmp_path.iterdir()) == []


def test_a_refused_deploy_keeps_an_earlier_complete_folder(checkpoint_20, tmp_path, capsys):
    out = tmp_path / "deploy"
    assert main(deploy_argv(*checkpoint_20, out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(openvino_graph, "CHANNEL_BLOCK", 1)
        code = main(deploy_argv(*checkpoint_20, out))
    assert code == (2 if binary_kernel_expected() else 0)
    if code == 2:
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["deploy"]


@pytest.mark.parametrize("problem", ["file", "unwritable"])
def test_a_bad_out_dir_is_one_line(problem, checkpoint_20, tmp_path, capsys):
    if problem == "file":
        out = tmp_path / "a_file"
        out.write_text("not a folder")
        expected = f"bnn: error: --out-dir: {out} is a file, not a folder; give a folder path"
    else:
        parent = tmp_path / "locked"
        parent.mkdir(mode=0o500)
        out = parent / "deploy"
        expected = f"bnn: error: --out-dir: cannot create a folder beside {out}"
        if os.access(parent, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
    assert main(deploy_argv(*checkpoint_20, out)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(expected) and "\n" not in err


def test_corrupt_checkpoint_and_missing_data_are_one_line(checkpoint_20, tmp_path, capsys):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(deploy_argv(bad, checkpoint_20[1], tmp_path / "a")) == 2
    first = capsys.readouterr().err.strip()
    assert main(deploy_argv(checkpoint_20[0], tmp_path / "no_data", tmp_path / "b")) == 2
    second = capsys.readouterr().err.strip()
    for err in (first, second):
        assert err.startswith("bnn: error: ") and "\n" not in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
