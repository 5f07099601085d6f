"""Deploy export of every zoo architecture: the compiled OpenVINO graph and the ONNX file against PyTorch eval.

Models have random weights but the layer states a recipe gives them (inner layers W1/A1, first and last
real) and random BN statistics, BN affine parameters and learnable shifts, as training leaves them.

Tolerance. The deployed graphs compute each binary conv exactly (integer counts), but their float parts
(fused BN, other summation orders) round differently from PyTorch by about 1e-6 relative. A latent input
within that distance of its threshold may take the other sign, and the flip moves that image's logits.
So per image the logits must agree to 1e-3 (relative to the largest logit) for at least 90 % of the
images, and the top-1 class for at least 90 %; a mapping error (a wrong sign, scale, offset or padding)
moves every image's logits far beyond that.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from bnn.config.spec import BinarySpec, ModelSpec
from bnn.deploy.artifacts import export_model
from bnn.deploy.cpu import binary_kernel_expected
from bnn.deploy.latency import onnxruntime_session
from bnn.deploy.onnx_export import binary_conv_names
from bnn.deploy.openvino_graph import census, compile_cpu
from bnn.deploy.twin import deploy_twin
from bnn.errors import BnnError
from bnn.nn import LearnableBias, SDBinaryConv2d, binary_layers, set_layer_states
from bnn.train.model import build_model

BATCH = 8
ZOO = [  # (arch, options, input shape): the smallest inputs each architecture accepts, small widths where it has them
    ("mlp", {"hidden": [32, 32]}, (1, 8, 8)),
    ("binarynet_mlp", {"inflation": 1}, (1, 8, 8)),
    ("convnet", {"channels": [8, 16, 16]}, (1, 8, 8)),
    ("vgg5", {}, (3, 16, 16)),
    ("vgg9", {}, (3, 16, 16)),
    ("vgg_small", {}, (3, 16, 16)),
    ("binarynet_vgg", {}, (3, 16, 16)),
    ("resnet20_bireal", {}, (3, 16, 16)),
    ("resnet20", {}, (3, 16, 16)),
    ("resnet18_cifar", {}, (3, 16, 16)),
    ("resnet_binary", {}, (3, 32, 32)),
    ("resnet18_bireal", {}, (3, 32, 32)),
    ("resnet21", {}, (3, 32, 32)),
    ("reactnet_a", {"width": 0.25, "small_input": True}, (3, 16, 16)),
    ("resnet18_tv", {}, (3, 32, 32)),
    ("resnet34_tv", {}, (3, 32, 32)),
]
HAS_KERNEL = binary_kernel_expected()


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from more threads, and two busy cores make OpenMP's spinning threads slow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def realistic(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics and affine parameters, learnable shifts, PReLU slopes and SD-BNN alphas (eval mode)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.normal_(0.0, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                if module.affine:
                    module.weight.uniform_(0.5, 1.5, generator=generator)
                    module.bias.normal_(0.0, 0.2, generator=generator)
            elif isinstance(module, (LearnableBias, SDBinaryConv2d)):
                (module.bias if isinstance(module, LearnableBias) else module.alpha).normal_(
                    0.0, 0.3, generator=generator
                )
            elif isinstance(module, nn.PReLU):
                module.weight.uniform_(0.1, 0.4, generator=generator)
    return model.eval()


def model_with_states(arch, options, in_shape, binary=None, states=None, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    model = build_model(
        ModelSpec.parse({"arch": arch, **options}, "model"),
        10,
        in_shape,
        BinarySpec.parse(binary or {"scaling": "channel_mean"}, "binary"),
    )
    layers = binary_layers(model)
    if layers:
        set_layer_states(model, states or [[False, False]] + [[True, True]] * (len(layers) - 2) + [[False, False]])
    return realistic(model, seed)


def close(logits: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(share of images whose logits agree to 1e-3 relative, share with the same top-1 class)."""
    scale = 1.0 + np.abs(reference).max()
    per_image = np.abs(logits - reference).max(axis=1) / scale
    return float((per_image <= 1e-3).mean()), float((logits.argmax(1) == reference.argmax(1)).mean())


def check_deployed(model: nn.Module, in_shape, tmp_path) -> dict:
    """Export ``model``, run the IR and the ONNX file (standard ops only, opset 17) on a random batch, compare
    with PyTorch eval."""
    deployed = export_model(model, in_shape, tmp_path, tmp_path, threads=1, batches=(BATCH,))
    x = torch.randn(BATCH, *in_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        reference = model(x).numpy()
    compiled = compile_cpu(deployed.ir, in_shape, BATCH, 1)
    outputs = {
        "openvino": compiled(x.numpy())[0],
        "onnxruntime": onnxruntime_session(deployed.onnx, 1).run(None, {"images": x.numpy()})[0],
    }
    for name, logits in outputs.items():
        logits_close, top1_same = close(logits, reference)
        assert logits_close >= 0.9 and top1_same >= 0.9, f"{name}: {logits_close:.0%} close, {top1_same:.0%} same top-1"
    graph = onnx.load(str(deployed.onnx))
    assert {node.domain for node in graph.graph.node} <= {""} and [o.version for o in graph.opset_import] == [17]
    nodes, layers = census(compiled, deployed.records)
    return {"deployed": deployed, "nodes": nodes, "layers": layers}


def check_kernel(result: dict) -> None:
    """Every W1/A1 layer is its own BinaryConvolution node (on a CPU with the kernel)."""
    if not HAS_KERNEL:
        pytest.skip("this CPU has no OpenVINO binary kernel (needs x86 AVX2 and OpenVINO's BIN capability)")
    counts = result["deployed"].layer_counts()
    kernels = sum(len(binary_conv_names(r)) for r in result["deployed"].records if r.kind == "W1/A1")
    assert result["nodes"] == kernels and counts["binary_layers"] == counts["binary_layers_compiled"]
    assert all(result["layers"].values())


@pytest.mark.parametrize("arch, options, in_shape", ZOO, ids=[case[0] for case in ZOO])
def test_every_zoo_architecture_deploys(arch, options, in_shape, tmp_path):
    model = model_with_states(arch, options, in_shape)
    result = check_deployed(model, in_shape, tmp_path)
    assert result["deployed"].count("W1/A1") == max(0, len(binary_layers(model)) - 2)
    check_kernel(result)


@pytest.mark.parametrize("scaling", ["none", "libra_pb"])
def test_scalings_map_exactly(scaling, tmp_path):
    model = model_with_states("resnet20_bireal", {}, (3, 16, 16), {"scaling": scaling, "act_estimator": "ede"})
    check_kernel(check_deployed(model, (3, 16, 16), tmp_path))


@pytest.mark.parametrize("arch, in_shape", [("convnet", (1, 8, 8)), ("resnet20_bireal", (3, 16, 16))])
def test_sd_bnn_convs_deploy(arch, in_shape, tmp_path):
    """SD-BNN (docs/methods.md §3.2): WSD shifts the weights before the sign, ASD shifts the input by SE(input)."""
    binary = {"conv": "self_distribution", "weight_estimator": "ede", "act_estimator": "ede", "scaling": "none"}
    options = {"channels": [8, 16, 16]} if arch == "convnet" else {}
    model = model_with_states(arch, options, in_shape, binary)
    assert any(isinstance(m, SDBinaryConv2d) and m.binary_acts for m in model.modules())
    check_kernel(check_deployed(model, in_shape, tmp_path))


def test_weight_only_and_act_only_layers_run_as_float_ops(tmp_path):
    """W1/A32 and W32/A1 layers map exactly as float convs; only the W1/A1 classifier (a Linear) is binary."""
    states = [[False, False], [True, False], [False, True], [True, True]]
    model = model_with_states("convnet", {"channels": [8, 16, 16]}, (1, 8, 8), states=states)
    result = check_deployed(model, (1, 8, 8), tmp_path)
    kinds = [record.kind for record in result["deployed"].records]
    assert kinds == ["W32/A32", "W1/A32", "W32/A1", "W1/A1"]
    assert result["deployed"].layer_counts()["weight_only_layers"] == 1
    check_kernel(result)


@pytest.mark.parametrize("sign_zero", ["plus", "zero"])
def test_sign_zero_conventions(sign_zero, tmp_path):
    """ReActNet's RSign is sign0 (docs/methods.md §4.1): both conventions map exactly (sign0 as two binary convs,
    bnn.deploy.twin; exact zeros are tested in test_deploy_exact.py)."""
    binary = {"scaling": "channel_mean", "act_estimator": "approx_sign", "sign_zero": sign_zero}
    model = model_with_states("reactnet_a", {"width": 0.25, "small_input": True}, (3, 16, 16), binary)
    result = check_deployed(model, (3, 16, 16), tmp_path)
    assert {record.sign_zero for record in result["deployed"].records if record.kind == "W1/A1"} == {sign_zero}
    check_kernel(result)


def test_hysteresis_activations_cannot_be_mapped():
    model = model_with_states("convnet", {"channels": [8, 16, 16]}, (1, 8, 8), {"act_estimator": "hysteresis"})
    with pytest.raises(BnnError, match=r"^deploy: layer features\.3 binarizes activations with the hysteresis") as err:
        deploy_twin(model, (1, 8, 8))
    assert "\n" not in str(err.value)


class Doubler(nn.Module):
    def forward(self, x):
        return 2 * x


def test_unknown_module_cannot_be_mapped():
    model = model_with_states("convnet", {"channels": [8, 16, 16]}, (1, 8, 8))
    model.features[2] = Doubler()
    with pytest.raises(BnnError, match=r"^deploy: module features\.2 \(.*Doubler\) has no deploy mapping") as err:
        deploy_twin(model, (1, 8, 8))
    assert "\n" not in str(err.value)


def test_binary_weights_that_are_not_two_valued_cannot_be_mapped():
    """sign0 of an exactly zero weight is 0: the layer's weights are not ±scale per channel."""
    model = model_with_states("convnet", {"channels": [8, 16, 16]}, (1, 8, 8), {"sign_zero": "zero"})
    with torch.no_grad():
        model.features[3].weight[0, 0, 0, 0] = 0.0
    with pytest.raises(
        BnnError, match=r"^deploy: layer features\.3 has binary weights that are not two-valued: 1 are 0 "
    ):
        deploy_twin(model, (1, 8, 8))


class Fan(nn.Module):
    """Six W1/A1 convs reading one tensor: more than the five distinct FakeQuantize constants the graph gives."""

    def __init__(self):
        super().__init__()
        from bnn.nn import BinaryConv2d

        self.stem = BinaryConv2d(1, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.branches = nn.ModuleList(BinaryConv2d(8, 8, 3, padding=1, bias=False) for _ in range(6))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    def forward(self, x):
        x = self.bn(self.stem(x))
        return self.head(sum(branch(x) for branch in self.branches))


def test_layers_that_do_not_compile_to_the_binary_kernel_are_recorded_and_stay_exact(tmp_path):
    """Two thresholds OpenVINO merges cannot feed a BinaryConvolution each: those layers keep their exact float
    threshold, the record says which, and the logits still match PyTorch (no 1-bit FakeQuantize left unconverted)."""
    if not HAS_KERNEL:
        pytest.skip("this CPU has no OpenVINO binary kernel (needs x86 AVX2 and OpenVINO's BIN capability)")
    model = Fan()
    set_layer_states(model, [[False, False]] + [[True, True]] * 6)
    result = check_deployed(realistic(model), (1, 8, 8), tmp_path)
    assert list(result["layers"].values()) == [True] * 4 + [False] * 2
    assert result["nodes"] == 4 and result["deployed"].layer_counts()["binary_layers_compiled"] == 4
