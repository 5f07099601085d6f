"""Stage speed options (bnn/train/accel.py): bf16 autocast and channels_last, tested on CPU; bad values fail."""

import pytest
import torch

from bnn.config.spec import Settings
from bnn.errors import BnnError
from bnn.models import build
from bnn.nn import binary_layers
from bnn.train.accel import Accelerated, accelerate
from bnn.train.run import run_stage


def test_no_option_is_the_plain_model():
    model = build("mlp", 10, (1, 8, 8), hidden=[8])
    assert accelerate(model, Settings(), torch.device("cpu")) is model


def test_bf16_autocast_and_channels_last_forward_on_cpu():
    torch.manual_seed(0)  # eval mode: BN's batch statistics of a tiny batch would magnify bf16 rounding
    model = build("convnet", 10, (1, 8, 8), channels=[4, 8]).eval()
    x = torch.randn(3, 1, 8, 8)
    reference = model(x)
    fast = Accelerated(model, torch.device("cpu"), amp="bf16", channels_last=True)
    out = fast(x)
    assert out.dtype == torch.float32 and out.shape == reference.shape
    assert not torch.equal(out, reference) and torch.allclose(out, reference, atol=0.1)
    assert next(p for p in model.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)


def test_binary_bf16_sets_the_product_dtype_of_binary_layers_only():
    model = build("mlp", 10, (1, 8, 8), hidden=[8])
    assert accelerate(model, Settings(amp="binary_bf16"), torch.device("cpu")) is model
    assert {layer.binary_dtype for layer in binary_layers(model)} == {torch.bfloat16}
    accelerate(model, Settings(), torch.device("cpu"))
    assert {layer.binary_dtype for layer in binary_layers(model)} == {None}


@pytest.mark.parametrize("amp", ["bf16", "binary_bf16"])
def test_binary_stage_trains_under_bf16(stage_spec, tmp_path, amp):
    spec = stage_spec(
        epochs=1, amp=amp, channels_last=True, schedule={"weights": "binary", "acts": "binary", "layers": "inner"}
    )
    result = run_stage(spec, tmp_path / "run")
    assert float(result["final"]["train_loss"]) > 0
    assert all(
        not k.startswith("model.")
        for k in torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["state_dict"]
    )


@pytest.mark.parametrize("option,value", [("amp", "fp8"), ("channels_last", "yes"), ("compile", 1)])
def test_bad_speed_options_are_one_line_errors(stage_spec, tmp_path, option, value):
    with pytest.raises(BnnError, match=f"spec.{option}: "):
        run_stage(stage_spec(**{option: value}), tmp_path)


def test_plan_checks_speed_options(default_config):
    import copy

    from bnn.plan.experiments import Plan

    config = copy.deepcopy(default_config)
    config["train"]["amp"] = "fp16"
    with pytest.raises(BnnError, match=r"^train.amp: 'fp16' must be one of none, bf16, binary_bf16"):
        Plan(config)
