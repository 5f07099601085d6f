"""bnn evaluate's binary check: sign0's exact zeros are allowed and counted, a layer that is not binary is caught."""

import pytest
import torch

from bnn.errors import BnnError
from bnn.evaluation.evaluate import BinaryCheck, evaluate
from bnn.io import save_torch
from bnn.nn import binary_layers
from bnn.train import checkpoint
from bnn.train.run import run_stage

# ReLU: exact 0.0 inputs to the next layer; binarizable layers 0-3, the inner ones (1, 2) binary
RELU_MLP = {"arch": "mlp", "hidden": [32, 32, 32], "activation": "relu"}
BINARY = {"weights": "binary", "acts": "binary", "layers": "inner"}


def sign0(**binary) -> dict:
    return {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "channel_mean", "sign_zero": "zero", **binary}


class PassThrough(torch.nn.Module):
    """An activation 'estimator' that does not binarize."""

    def forward(self, x, scale=None, dtype=None, space=None):
        return x


class ZeroKeepingSign(torch.nn.Module):
    """torch.sign, which maps 0.0 to 0, in a layer whose sign convention is signP (+1)."""

    zero = "plus"

    def forward(self, x, scale=None, dtype=None, space=None):
        return torch.sign(x)


@pytest.fixture(scope="module")
def sign0_run(stage_spec, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sign0")
    run_stage(stage_spec(model=RELU_MLP, binary=sign0(), schedule=BINARY, epochs=1), folder)
    return folder / "checkpoint.pt"


def test_sign0_run_with_exact_zero_inputs_evaluates_and_counts_them(sign0_run, digits_dir):
    record = evaluate(sign0_run, digits_dir)
    check = record["binary_check"]
    assert check["ok"] and check["bad_act_layers"] == [] and check["bad_weight_layers"] == []
    assert set(check["zero_inputs"]) == {"1", "2"} and all(n > 0 for n in check["zero_inputs"].values())


def test_sign0_exact_zero_weights_are_counted(sign0_run, digits_dir, tmp_path):
    ckpt = checkpoint.read(sign0_run)
    ckpt["state_dict"]["features.6.weight"].view(-1)[:3] = 0.0  # binary layer 2
    save_torch(tmp_path / "checkpoint.pt", ckpt)
    check = evaluate(tmp_path / "checkpoint.pt", digits_dir)["binary_check"]
    assert check["ok"] and check["zero_weights"] == {"2": 3}


def test_a_layer_that_does_not_binarize_is_caught(sign0_run, digits_dir):
    model = checkpoint.rebuild(checkpoint.read(sign0_run), sign0_run).eval()
    layers = binary_layers(model)
    layers[1].act_estimator = PassThrough()
    layers[2].effective_weight = lambda dtype=None: layers[2].weight
    x = torch.randn(16, 1, 8, 8)
    with BinaryCheck(model) as watch, torch.no_grad():
        model(x)
    result = watch.result()
    assert not result["ok"] and result["bad_act_layers"] == [1] and result["bad_weight_layers"] == [2]


def test_a_zero_under_sign_plus_fails_evaluate(stage_spec, digits_dir, tmp_path, monkeypatch):
    run_stage(stage_spec(model=RELU_MLP, binary={"sign_zero": "plus"}, schedule=BINARY, epochs=1), tmp_path)
    assert evaluate(tmp_path / "checkpoint.pt", digits_dir)["binary_check"]["zero_inputs"] == {}  # signP: no zero
    rebuild = checkpoint.rebuild

    def zero_keeping(ckpt, path, what="checkpoint"):  # layer 1 declares signP but keeps sign(0) = 0
        model = rebuild(ckpt, path, what)
        binary_layers(model)[1].act_estimator = ZeroKeepingSign()
        return model

    monkeypatch.setattr(checkpoint, "rebuild", zero_keeping)
    with pytest.raises(BnnError, match=r"binary check failed .*activation layers \[1\] are not two-valued"):
        evaluate(tmp_path / "checkpoint.pt", digits_dir)
