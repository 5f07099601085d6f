"""A stage's model: the architecture, its binary conv type and its binarization options, built in one place.

Training, the plan's meta-device checks, checkpoint rebuilds (evaluate, teachers, summaries) and the export
all build models through :func:`build_model`, so a stage's model and its checkpoint always agree.

``binary.conv`` picks the type of the binary convolutions: ``standard`` (``BinaryConv2d``) or
``self_distribution`` (SD-BNN's ``SDBinaryConv2d``, docs/methods.md §3.2). SD-BNN keeps its first and last
layers full precision (§3, §3.3), so the swap applies to the binarizable convs between the first and the
last binarizable layer (the papers' binary convs, those ``layers: inner`` binarizes). The swap keeps
every parameter name of the standard model and adds SD's own (``alpha``, ``asd``), so two stages with
the same ``conv`` load each other's weights strictly (§3.5's two steps).
"""

from __future__ import annotations

from torch import nn

from bnn.config.spec import BinarySpec, ModelSpec
from bnn.errors import BnnError
from bnn.models import build
from bnn.nn import BinaryConv2d, SDBinaryConv2d, binary_layers, configure_binary
from bnn.registry import Registry

CONVS: Registry = Registry("binary conv")
CONVS.register("standard")(BinaryConv2d)
CONVS.register("self_distribution")(SDBinaryConv2d)  # docs/methods.md §3.2


def swap_convs(model: nn.Module, conv: str, description: str) -> None:
    """Replace the inner binarizable convs of ``model`` by ``conv`` convs, in place, keeping their
    parameters (so their initialisation) and the registration order (so the forward order)."""
    cls = CONVS.get(conv, "binary.conv")
    if cls is BinaryConv2d:
        return
    inner = [m for m in binary_layers(model)[1:-1] if type(m) is BinaryConv2d]
    if not inner:
        raise BnnError(
            f"binary.conv: {conv!r} replaces binary convolutions, and {description} has none between "
            "its first and last layer; list only conv models in the recipe's models: (e.g. models: "
            "[convnet]) or set binary.conv: standard"
        )
    parents = {child: (parent, name) for parent in model.modules() for name, child in parent.named_children()}
    for old in inner:
        new = cls(
            old.in_channels,
            old.out_channels,
            old.kernel_size[0],
            stride=old.stride[0],
            padding=old.padding[0],
            bias=old.bias is not None,
        )
        new.weight, new.bias = old.weight, old.bias
        parent, name = parents[old]
        setattr(parent, name, new)


def apply_binary(model: nn.Module, binary: BinarySpec, description: str) -> nn.Module:
    """Give ``model`` the conv type and binarization options of a ``binary`` setting; errors start with
    ``binary.`` (callers prefix their config key)."""
    swap_convs(model, binary.conv, description)
    configure_binary(model, **binary.layer_options())
    return model


def build_model(model_spec: ModelSpec, num_classes: int, in_shape, binary: BinarySpec, key: str = "model") -> nn.Module:
    """The model of ``model_spec`` with ``binary``'s conv type and binarization options; every switch off (the
    schedule sets them). ``key`` names the model's config key in errors."""
    model = build(model_spec.arch, num_classes, in_shape, key=key, **model_spec.options)
    return apply_binary(model, binary, f"model {model_spec.arch!r}")
