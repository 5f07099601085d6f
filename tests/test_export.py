"""Binary export: exact round trip, the documented file format, size, and refusals."""

import subprocess
import sys

import pytest
import torch

import bnn
from bnn.data import TensorLoader, load_split, read_meta
from bnn.deploy.packed import export, fit_latent_weight, load_exported
from bnn.errors import BnnError
from bnn.io import save_torch
from bnn.nn import BinaryConv2d, binary_layers
from bnn.nn.scaling import SCALINGS
from bnn.train import checkpoint
from bnn.train.run import run_stage


def binary_stage(stage_spec, model, scaling="none", epochs=3, **binary):
    return stage_spec(
        model=model,
        epochs=epochs,
        schedule={"weights": "binary", "acts": "binary"},
        binary={"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": scaling, **binary},
    )


def digits_test_images(digits_dir) -> torch.Tensor:
    meta = read_meta(digits_dir)
    split = load_split(digits_dir, "test")
    return next(iter(TensorLoader(split, len(split), meta["mean"], meta["std"], torch.device("cpu"))))[0]


def unpack_with_plain_torch(entry: dict) -> torch.Tensor:
    """The README's recipe: bit 7 - i % 8 of byte i // 8 is weight i; 1 is +scale, 0 is -scale."""
    shifts = torch.arange(7, -1, -1, dtype=torch.uint8)
    count = torch.Size(entry["shape"]).numel()
    bits = ((entry["bits"][:, None] >> shifts) & 1).flatten()[:count].view(entry["shape"])
    return (bits.float() * 2 - 1) * entry["scale"].view(-1, *[1] * (len(entry["shape"]) - 1))


@pytest.mark.parametrize(
    "model, scaling",
    [
        ({"arch": "mlp", "hidden": [32, 32]}, "none"),
        ({"arch": "convnet", "channels": [8, 16, 16]}, "channel_mean"),
    ],
)
def test_exported_model_gives_the_same_logits(stage_spec, digits_dir, tmp_path, model, scaling):
    run_stage(binary_stage(stage_spec, model, scaling), tmp_path)
    ckpt_path, out = tmp_path / "checkpoint.pt", tmp_path / "model.bnn.pt"
    export(ckpt_path, out)
    original = checkpoint.rebuild(checkpoint.read(ckpt_path), ckpt_path).eval()
    loaded = bnn.load_exported(out).eval()
    x = digits_test_images(digits_dir)
    with torch.no_grad():
        assert torch.equal(loaded(x), original(x))
    assert [[layer.binary_weights, layer.binary_acts] for layer in binary_layers(loaded)] == checkpoint.read(ckpt_path)[
        "layer_states"
    ]


def test_file_format_is_plain_and_unpacks_without_bnn(stage_spec, tmp_path):
    run_stage(binary_stage(stage_spec, {"arch": "convnet", "channels": [4, 8, 8]}, "channel_mean", epochs=1), tmp_path)
    out = tmp_path / "model.bnn.pt"
    export(tmp_path / "checkpoint.pt", out)
    payload = torch.load(out, weights_only=True)
    ckpt = checkpoint.read(tmp_path / "checkpoint.pt")
    assert payload["format"] == "bnn-export/1"
    assert {k: payload[k] for k in ("model", "num_classes", "in_shape", "binary", "layer_states")} == {
        k: ckpt[k] for k in ("model", "num_classes", "in_shape", "binary", "layer_states")
    }
    assert sorted(payload["packed"]) == ["features.3", "features.7"]  # the inner convs (weights binary)
    model = checkpoint.rebuild(ckpt, tmp_path / "checkpoint.pt")
    modules = dict(model.named_modules())
    for name, entry in payload["packed"].items():
        assert entry["bits"].dtype == torch.uint8 and entry["scale"].dtype == torch.float32
        assert entry["bits"].numel() == -(-torch.Size(entry["shape"]).numel() // 8)
        assert torch.equal(unpack_with_plain_torch(entry), modules[name].effective_weight().detach())
        assert f"{name}.weight" not in payload["tensors"]
    assert set(payload["tensors"]) | {f"{n}.weight" for n in payload["packed"]} == set(ckpt["state_dict"])


def test_export_is_much_smaller_when_binary_weights_dominate(stage_spec, tmp_path):
    run_stage(binary_stage(stage_spec, {"arch": "mlp", "hidden": [16, 2048, 2048]}, epochs=1), tmp_path)
    sizes = export(tmp_path / "checkpoint.pt", tmp_path / "model.bnn.pt")
    assert sizes["layers"] == 2 and sizes["float_bytes"] == 4 * (16 * 2048 + 2048 * 2048)
    assert sizes["packed_bytes"] * 30 <= sizes["float_bytes"]
    assert sizes["file_bytes"] * 20 <= (tmp_path / "checkpoint.pt").stat().st_size


@pytest.mark.parametrize(
    "scale",
    [
        SCALINGS.get("channel_mean")
        .scale(torch.randn(16, 3, 3, 3, generator=torch.Generator().manual_seed(0)))
        .flatten(),
        torch.ones(16),  # scaling none
        torch.full((16,), 0.1),
    ],
)
def test_fit_latent_weight_gives_exactly_plus_minus_scale(scale):
    layer = BinaryConv2d(3, 16, 3)
    layer.set_binary(True, False)
    positive = torch.rand(16, 3, 3, 3, generator=torch.Generator().manual_seed(1)) > 0.5
    assert fit_latent_weight(layer, positive, scale, {})
    expected = torch.where(positive, 1.0, -1.0) * scale.view(-1, 1, 1, 1)
    assert torch.equal(layer.effective_weight(), expected)


def test_export_refuses_weights_that_are_not_plus_minus_scale(stage_spec, tmp_path):
    run_stage(binary_stage(stage_spec, {"arch": "mlp", "hidden": [8, 8]}, epochs=1, sign_zero="zero"), tmp_path)
    ckpt = checkpoint.read(tmp_path / "checkpoint.pt")
    ckpt["state_dict"]["features.3.weight"][0, 0] = 0.0  # sign0(0) = 0: a third value
    save_torch(tmp_path / "checkpoint.pt", ckpt)
    with pytest.raises(BnnError, match=r"layer features.3 has binary weights that are not ±scale per output channel"):
        export(tmp_path / "checkpoint.pt", tmp_path / "model.bnn.pt")
    assert not (tmp_path / "model.bnn.pt").exists()


def test_load_exported_refuses_a_checkpoint(stage_spec, tmp_path):
    run_stage(stage_spec(epochs=1), tmp_path)
    with pytest.raises(BnnError, match="is not a bnn export .* give a file written by bnn export"):
        load_exported(tmp_path / "checkpoint.pt")


def test_cli_export(stage_spec, tmp_path):
    run_stage(binary_stage(stage_spec, {"arch": "mlp", "hidden": [32, 32]}, epochs=1), tmp_path)
    out = tmp_path / "out" / "model.bnn.pt"
    result = subprocess.run(
        [sys.executable, "-m", "bnn", "export", str(tmp_path / "checkpoint.pt"), str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "1 binary-weight layers packed into 256 bytes (4,096 as float32)" in result.stdout  # 32*32/8 + 4*32
    assert torch.load(out, weights_only=True)["format"] == "bnn-export/1"
