"""Deploys that are exact or refused (docs/deploy.md): trained tiny networks whose binary layers read any
number of input channels, with either sign(0) convention (exact zeros included), at batch 1 and 64, agree
with PyTorch on every test image; a deploy that does not agree is refused and leaves no folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from bnn.cli import main
from bnn.data import read_meta
from bnn.deploy import openvino_graph
from bnn.deploy.artifacts import export_model
from bnn.deploy.cpu import binary_kernel_expected
from bnn.deploy.verify import MIN_AGREEMENT, Agreement, TieDetector, gate, verify
from bnn.errors import BnnError
from bnn.nn import BinaryLinear
from bnn.train import checkpoint
from bnn.train.run import run_stage

BATCHES = (1, 64)
BINARY = {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "channel_mean"}
# (arch, C, sign_zero): convnet [C, C, 8] has two W1/A1 convs reading C channels; mlp [C, C, 16] with ReLU two
# W1/A1 Linears reading C features with exact zeros; C around multiples of 8 (1..65: benchmarks/deploy_agreement.py)
CASES = [
    *[("convnet", c, zero) for c in (1, 7, 20, 36) for zero in ("plus", "zero")],
    *[("mlp", c, "zero") for c in (3, 9, 65)],
    ("mlp", 100, "plus"),
]


def trained(stage_spec, run_dir, arch: str, channels: list[int], sign_zero: str):
    """A checkpoint of ``arch`` trained one epoch on digits by the project's loop (inner layers W1/A1), rebuilt."""
    options = {"channels": channels} if arch == "convnet" else {"hidden": channels, "activation": "relu"}
    spec = stage_spec(
        model={"arch": arch, **options},
        epochs=1,
        schedule={"weights": "binary", "acts": "binary"},
        binary={**BINARY, "sign_zero": sign_zero},
    )
    run_stage(spec, run_dir)
    path = run_dir / "checkpoint.pt"
    return checkpoint.rebuild(checkpoint.read(path), path).eval()


def deploy_and_verify(model, digits_dir, tmp_path) -> dict:
    deployed = export_model(model, (1, 8, 8), tmp_path, tmp_path, threads=1, batches=(1, *BATCHES))
    return {"deployed": deployed, **verify(deployed, digits_dir, read_meta(digits_dir), 1, BATCHES)}


@pytest.mark.parametrize("arch, channels, sign_zero", CASES, ids=[f"{a}-c{c}-{z}" for a, c, z in CASES])
def test_any_channel_count_and_sign_convention_deploys_exactly(
    arch, channels, sign_zero, stage_spec, digits_dir, tmp_path
):
    widths = [channels, channels, 8 if arch == "convnet" else 16]
    model = trained(stage_spec, tmp_path / "run", arch, widths, sign_zero)
    result = deploy_and_verify(model, digits_dir, tmp_path / "deploy")
    if arch == "mlp" and sign_zero == "zero":
        assert result["sign_zero_inputs"] > 0  # ReLU zeros reach the sign0 layers
    assert set(result["cases"]) == {"torch-binary", "openvino-binary@1", "openvino-binary@64", "onnxruntime"}
    for name, record in result["cases"].items():
        assert record["agreement_pct"] == 100.0, name
        assert record["max_logit_diff"] <= record["logit_tolerance"], name
    gate(result)
    if binary_kernel_expected():
        assert all(result["deployed"].compiled.values()) and len(result["deployed"].compiled) == 2


def test_the_mlp_of_the_issue_with_relu_and_sign0_deploys_exactly(stage_spec, digits_dir, tmp_path):
    """mlp [64, 64], ReLU, sign_zero: zero agreed on 10.6 % of images when sign(0) was deployed as +1."""
    model = trained(stage_spec, tmp_path / "run", "mlp", [64, 64, 36], "zero")
    result = deploy_and_verify(model, digits_dir, tmp_path / "deploy")
    assert result["sign_zero_inputs"] > 1000
    assert min(record["agreement_pct"] for record in result["cases"].values()) == 100.0
    gate(result)


def test_gate_refuses_a_deploy_that_disagrees(checkpoint_20, digits_dir, tmp_path):
    """Without the channel padding the kernel miscounts 20 input channels: the gate names the case, the
    agreement and the tolerance in one line."""
    if not binary_kernel_expected():
        pytest.skip("this CPU has no OpenVINO binary kernel (needs x86 AVX2 and OpenVINO's BIN capability)")
    path = checkpoint_20[0]
    model = checkpoint.rebuild(checkpoint.read(path), path).eval()
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
    from bnn.train.run import run_stage

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


@pytest.mark.parametrize("problem", ["file", "under_a_file"])
def test_a_bad_out_dir_is_one_line(problem, checkpoint_20, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    if problem == "file":
        out, expected = blocker, f"bnn: error: --out-dir: {blocker} is a file, not a folder; give a folder path"
    else:  # no folder can be made there, whoever runs the test
        out = blocker / "deploy"
        expected = f"bnn: error: --out-dir: cannot create a folder beside {out}"
    assert main(deploy_argv(*checkpoint_20, out)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(expected) and "\n" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"] and blocker.read_text() == "not a folder"


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


def test_a_rounding_tie_is_found_in_pytorchs_values_and_only_it_is_exempt():
    """An image whose binarized input lies within rounding of the threshold is a tie; its logits may differ, another
    image's may not (docs/deploy.md "The gate")."""
    layer = BinaryLinear(4, 2)
    x = torch.tensor([[0.5, -2.0, 1e-9, 3.0], [0.5, -2.0, 1e-3, 3.0], [0.5, -2.0, 0.0, 3.0]])
    detector = TieDetector()
    detector.inspect(True, layer, (x,))
    assert detector.take().tolist() == [True, False, False] and detector.zeros == 1  # an exact 0 is no tie
    ties = np.array([True, False])
    reference = np.array([[1.0, 0.0], [0.0, 1.0]])
    agreement = Agreement()
    agreement.update(reference + np.array([[0.5, 0.0], [0.0, 0.0]]), reference, np.array([0, 1]), ties)
    assert agreement.record()["logit_diff_bulk"] == 0.0 and agreement.record()["tie_images"] == 1
    wrong = Agreement()
    wrong.update(reference + np.array([[0.0, 0.0], [0.5, 0.0]]), reference, np.array([0, 1]), ties)
    assert wrong.record()["logit_diff_bulk"] == 0.5  # not a tie: the gate sees it
