"""ReActNet-A (docs/methods.md §4.1): structure, binary layer count and order, forward/backward at 224 and 32."""

import pytest
import torch

from bnn.errors import BnnError
from bnn.models import build
from bnn.nn import binary_layers, configure_binary, set_layer_states

# §4.1 stage_out_channel: stem, then the outputs of the 13 blocks.
WIDTHS = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]


def make_binary(model: torch.nn.Module) -> None:
    """AdamBNN step 2: ApproxSign activations, clipped-STE weights with mean |W| scale, sign0; stem and FC real."""
    configure_binary(
        model, weight_estimator="clipped_ste", act_estimator="approx_sign", scaling="channel_mean", sign_zero="zero"
    )
    n = len(binary_layers(model))
    set_layer_states(model, [[0 < i < n - 1] * 2 for i in range(n)])


def test_thirteen_blocks_and_binary_convs_counted_from_the_paper():
    model = build("reactnet_a", 1000, (3, 224, 224), width=0.25)
    assert len(model.blocks) == 13
    # each block: one 3x3, plus one 1x1 when C_out = C_in or two when C_out = 2 C_in
    convs = sum(1 + c_out // c_in for c_in, c_out in zip(WIDTHS[:-1], WIDTHS[1:]))
    assert convs == 31
    layers = binary_layers(model)
    assert len(layers) - 2 == convs
    assert layers[0] is model.stem and layers[-1] is model.classifier
    strides = [block.conv_3x3.stride[0] for block in model.blocks]
    assert [i + 1 for i, s in enumerate(strides) if s == 2] == [2, 4, 6, 12]


def test_binary_layers_are_listed_in_forward_order():
    model = build("reactnet_a", 10, (3, 32, 32), width=0.125, small_input=True)
    layers = binary_layers(model)
    called: list[int] = []
    handles = [layer.register_forward_pre_hook(lambda m, args, i=i: called.append(i)) for i, layer in enumerate(layers)]
    model(torch.randn(1, 3, 32, 32))
    for handle in handles:
        handle.remove()
    assert called == list(range(len(layers)))


def feature_size(model: torch.nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    sizes = []
    handle = model.blocks.register_forward_hook(lambda m, args, out: sizes.append(tuple(out.shape[1:])))
    logits = model(x)
    handle.remove()
    logits.sum().backward()
    return sizes[0]


def test_imagenet_size_forward_backward_at_quarter_width():
    torch.manual_seed(0)
    model = build("reactnet_a", 1000, (3, 224, 224), width=0.25)
    make_binary(model)
    assert feature_size(model, torch.randn(2, 3, 224, 224)) == (256, 7, 7)
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.blocks[5].conv_3x3.weight.grad.abs().sum() > 0
    assert model.blocks[0].shift_3x3.bias.grad.abs().sum() > 0


def test_small_input_runs_on_32x32_with_a_4x4_final_map():
    torch.manual_seed(0)
    model = build("reactnet_a", 10, (3, 32, 32), width=0.25, small_input=True)
    make_binary(model)
    assert model.stem.stride == (1, 1)
    assert feature_size(model, torch.randn(2, 3, 32, 32)) == (256, 4, 4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_full_width_forward_at_224():
    torch.manual_seed(0)
    model = build("reactnet_a", 1000, (3, 224, 224)).eval()
    make_binary(model)
    assert model.stem.out_channels == 32 and model.classifier.in_features == 1024
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224))
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()


def test_builds_on_the_meta_device_and_checks_options():
    with torch.device("meta"):
        model = build("reactnet_a", 10, (3, 32, 32), width=0.5, small_input=True)
    assert model.classifier.in_features == 512
    with pytest.raises(BnnError, match="model.width: 0 must be a number > 0"):
        build("reactnet_a", 10, (3, 32, 32), width=0)
    with pytest.raises(BnnError, match="reactnet_a needs image inputs"):
        build("reactnet_a", 10, (64,))
