"""The model zoo (docs/methods.md §0.5, §5.4, §6.7): shapes, binary-layer counts, forward order, init."""

from __future__ import annotations

import math
from typing import NamedTuple

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bnn.errors import BnnError
from bnn.models import MODELS, build
from bnn.models.resnet_blocks import OptionA
from bnn.nn import BinaryConv2d, BinaryLinear, binary_layers

MNIST, CIFAR, TINY, IMAGENET = (1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 224, 224)
NUM_CLASSES = 10


class Case(NamedTuple):
    arch: str
    options: dict
    in_shape: tuple[int, ...]
    paper_binary: int  # binary layers in docs/methods.md
    layers: str  # which schedule gives them: "inner" (first and last stay real) or "all" (ITR)
    plain: int = 0  # conv/linear layers that no recipe binarizes (plain nn.Conv2d / nn.Linear)


CASES = [
    Case("mlp", {"hidden": [300, 100], "activation": "relu", "bias": True}, MNIST, 3, "all"),  # ITR §5.4
    Case("mlp", {"hidden": [784, 784], "activation": "relu", "bias": True}, MNIST, 3, "all"),  # ITR "784"
    Case("binarynet_mlp", {"inflation": 1}, MNIST, 2, "inner"),  # §6.7 (default width: see below)
    Case("vgg5", {}, CIFAR, 5, "all"),
    Case("vgg9", {}, CIFAR, 9, "all"),
    Case("vgg_small", {}, CIFAR, 5, "inner"),
    Case("binarynet_vgg", {}, CIFAR, 7, "inner"),  # §0.5 b: 5 binary convs + 2 binary FC
    Case("binarynet_vgg", {}, TINY, 7, "inner"),
    Case("resnet20_bireal", {}, CIFAR, 18, "inner"),
    Case("resnet20", {}, CIFAR, 20, "all"),
    Case("resnet18_cifar", {}, CIFAR, 16, "inner", plain=3),
    Case("resnet_binary", {}, CIFAR, 14, "inner"),
    Case("resnet_binary", {}, TINY, 14, "inner"),
    Case("resnet18_bireal", {}, IMAGENET, 16, "inner", plain=3),
    Case("resnet21", {}, IMAGENET, 21, "all"),
    Case("resnet18_tv", {}, IMAGENET, 0, "all", plain=21),
    Case("resnet34_tv", {}, IMAGENET, 0, "all", plain=37),
]


def total_layers(case: Case) -> int:
    """Binarizable layers the model must expose: the paper's binary ones, plus stem and classifier for inner."""
    return case.paper_binary + (2 if case.layers == "inner" else 0)


def case_id(case: Case) -> str:
    return f"{case.arch}-{'x'.join(map(str, case.in_shape[1:]))}-{len(case.options)}opt"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread: steady on a busy 2-core machine, where two threads spin-wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=CASES, ids=case_id)
def zoo(request) -> tuple[Case, nn.Module]:
    """One model per case, built once and shared by the tests of that case (pytest groups them)."""
    torch.manual_seed(0)
    case = request.param
    return case, build(case.arch, NUM_CLASSES, case.in_shape, **case.options)


def switch(model: nn.Module, binary: bool) -> None:
    """All layers float, or every layer but the first and last binary (weights and activations)."""
    layers = binary_layers(model)
    for layer in layers:
        layer.set_binary(False, False)
    for layer in layers[1:-1]:
        layer.set_binary(binary, binary)


def test_every_registered_model_is_covered():
    # convnet is the spine's test model; reactnet_a has its own module, tests/test_reactnet.py
    assert set(MODELS.names()) - {"convnet", "reactnet_a"} == {case.arch for case in CASES}


def test_binary_layer_count_matches_methods(zoo):
    case, model = zoo
    assert len(binary_layers(model)) == total_layers(case)
    plain = [
        m
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not isinstance(m, (BinaryConv2d, BinaryLinear))
    ]
    assert len(plain) == case.plain


def test_binary_layers_are_listed_in_forward_order(zoo):
    case, model = zoo
    layers = binary_layers(model)
    if not layers:
        pytest.skip("float-only teacher: no binarizable layer")
    calls: list[tuple[nn.Module, tuple]] = []
    hooks = [
        m.register_forward_pre_hook(lambda mod, args: calls.append((mod, tuple(args[0].shape))))
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model.eval()(torch.randn(2, *case.in_shape))
    for hook in hooks:
        hook.remove()
    binary_calls = [mod for mod, _ in calls if isinstance(mod, (BinaryConv2d, BinaryLinear))]
    assert [id(m) for m in binary_calls] == [id(m) for m in layers]  # each once, in registration order
    assert calls[0][0] is layers[0] and calls[0][1][1:] in (case.in_shape, (math.prod(case.in_shape),))  # the stem
    assert calls[-1][0] is layers[-1] and isinstance(layers[-1], BinaryLinear)  # the classifier
    assert layers[-1].out_features == NUM_CLASSES


@pytest.mark.parametrize("binary", [False, True], ids=["float", "binary"])
def test_forward_and_backward_at_nominal_size(zoo, binary):
    case, model = zoo
    if binary and not binary_layers(model):
        pytest.skip("float-only teacher: no binarizable layer")
    switch(model, binary)
    model.train().zero_grad(set_to_none=True)
    torch.manual_seed(1)
    logits = model(torch.randn(2, *case.in_shape))
    assert logits.shape == (2, NUM_CLASSES)
    F.cross_entropy(logits, torch.tensor([0, 1])).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.isfinite().all()]
    assert not missing  # every parameter is used and gets a finite gradient
    if binary:
        assert all(layer.binary_weights and layer.binary_acts for layer in binary_layers(model)[1:-1])
    switch(model, False)


def test_models_build_on_the_meta_device_as_the_plan_does():
    with torch.device("meta"):
        for case in CASES:
            model = build(case.arch, NUM_CLASSES, case.in_shape, **case.options)
            assert len(binary_layers(model)) == total_layers(case)


def test_itr_mlp_and_default_mlp_blocks():
    itr = build("mlp", 10, MNIST, hidden=[300, 100], activation="relu", bias=True)
    assert [type(m) for m in itr.features] == [BinaryLinear, nn.BatchNorm1d, nn.ReLU] * 2
    assert all(layer.bias is not None for layer in binary_layers(itr))
    assert itr.output_bn.affine
    spine = build("mlp", 10, MNIST)  # the default is unchanged: no hidden bias, Hardtanh
    assert [type(m) for m in spine.features] == [BinaryLinear, nn.BatchNorm1d, nn.Hardtanh] * 2
    assert spine.features[0].bias is None


def test_resnet21_is_torchvision_resnet18_with_binarizable_layers():
    with torch.device("meta"):
        resnet21, resnet18 = build("resnet21", 10, IMAGENET), build("resnet18_tv", 10, IMAGENET)
    assert list(resnet21.state_dict()) == list(resnet18.state_dict())  # torchvision checkpoints load


def test_binarynet_mlp_default_width_and_dropout_place():
    with torch.device("meta"):
        model = build("binarynet_mlp", 10, MNIST)
    assert [layer.out_features for layer in binary_layers(model)] == [6144, 6144, 6144, 10]
    kinds = [type(m) for m in model.features]
    assert kinds[-4:] == [BinaryLinear, nn.Dropout, nn.BatchNorm1d, nn.Hardtanh] and kinds.count(nn.Dropout) == 1
    assert isinstance(model.output_bn, nn.Identity)


def test_input_size_sets_the_flattened_features():
    assert binary_layers(build("binarynet_vgg", 200, TINY))[6].in_features == 512 * 8 * 8
    assert binary_layers(build("binarynet_vgg", 10, CIFAR))[6].in_features == 512 * 4 * 4
    assert binary_layers(build("vgg5", 10, CIFAR))[2].in_features == 16384
    assert binary_layers(build("vgg9", 10, CIFAR))[6].in_features == 4096
    assert binary_layers(build("resnet_binary", 200, TINY))[-1].in_features == 1280  # §0.5 c: 2x2 pooled map


def std_ratio(weight: torch.Tensor, expected: float) -> float:
    return weight.std().item() / expected


def test_init_rules_from_methods():
    torch.manual_seed(0)
    small = binary_layers(build("vgg_small", 10, CIFAR))
    assert std_ratio(small[5].weight, math.sqrt(2 / (9 * 512))) == pytest.approx(1, abs=0.02)
    assert std_ratio(small[6].weight, 0.01) == pytest.approx(1, abs=0.05) and not small[6].bias.any()
    sgdat = binary_layers(build("resnet_binary", 10, CIFAR))
    assert std_ratio(sgdat[-2].weight, math.sqrt(2 / (9 * 320))) == pytest.approx(1, abs=0.02)
    downsample = [layer for layer in sgdat if isinstance(layer, BinaryConv2d) and layer.kernel_size == (1, 1)]
    assert [layer.out_channels for layer in downsample] == [160, 320]
    assert std_ratio(downsample[1].weight, math.sqrt(2 / 320)) == pytest.approx(1, abs=0.05)
    assert sgdat[0].weight.abs().max() <= 1 / math.sqrt(27)  # float stem keeps PyTorch's default init
    resnet21 = binary_layers(build("resnet21", 10, IMAGENET))  # torchvision's init survives the swap
    assert std_ratio(resnet21[0].weight, math.sqrt(2 / (64 * 49))) == pytest.approx(1, abs=0.05)
    bireal = binary_layers(build("resnet20_bireal", 10, CIFAR))
    assert std_ratio(bireal[-2].weight, math.sqrt(2 / (9 * 64))) == pytest.approx(1, abs=0.05)


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    x = torch.randn(2, 16, 8, 8)
    out = OptionA(16, 32, 2)(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()


@pytest.mark.parametrize(
    "arch,options,in_shape,message",
    [
        ("mlp", {"activation": "tanh"}, MNIST, "model.activation: unknown activation 'tanh'"),
        ("resnet34_tv", {}, MNIST, "model.arch: resnet34_tv is torchvision's ResNet-34 for RGB images"),
        ("resnet_binary", {}, (3, 16, 16), "model.arch: resnet_binary needs images of at least 32x32"),
        ("vgg9", {}, (3, 32, 16), "model.arch: vgg9 needs square images"),
        ("vgg5", {"hidden": [1]}, CIFAR, "model.hidden: not an option of model 'vgg5'"),
    ],
)
def test_bad_model_inputs_fail_with_one_line(arch, options, in_shape, message):
    with pytest.raises(BnnError, match=message):
        build(arch, 10, in_shape, **options)
