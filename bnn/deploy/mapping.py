"""What a trained model's layers become in a deployed graph, and the refusals (docs/architecture.md, "Deploy").

Each binarizable layer has a kind from its switches: ``W1/A1`` (binary weights and activations: the
binary kernel), ``W1/A32`` (binary weights only: a float conv with ±scale_c weights, no kernel gain),
``W32/A1`` (binary activations only: sign, then the real conv) or ``W32/A32``. Every other module must
be a container (its forward composes its children and is traced as written), a ``torch.nn`` built-in,
or one of bnn's own real blocks; anything else, and a layer whose binarization is not a stateless
sign in eval, fails with one line naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bnn.errors import BnnError
from bnn.models.resnet_blocks import OptionA
from bnn.nn import ESTIMATORS, BinaryConv2d, BinaryLayer, BinaryLinear, LearnableBias, sign

KINDS = ("W1/A1", "W1/A32", "W32/A1", "W32/A32")
BNN_LEAVES = (LearnableBias, OptionA)  # bnn's real leaf modules whose forward is plain torch ops


@dataclass(frozen=True)
class LayerRecord:
    """One binarizable layer: module ``name``, ``kind`` (KINDS), ``op`` (conv | linear), input shape
    without the batch, and its sign(0) convention (``zero`` maps sign(0) to 0, docs/methods.md §0.1)."""

    name: str
    kind: str
    op: str
    in_shape: tuple[int, ...]
    sign_zero: str


def layer_kind(layer: BinaryLayer) -> str:
    return f"W{1 if layer.binary_weights else 32}/A{1 if layer.binary_acts else 32}"


def estimator_name(estimator) -> str:
    """The registry name of an estimator (its class name when it is not registered)."""
    names = [name for name in ESTIMATORS.names() if type(estimator) is ESTIMATORS.get(name)]
    return names[0] if names else type(estimator).__name__


def check_layer(name: str, layer: BinaryLayer) -> str:
    """The layer's op (conv | linear), or a one-line error when it has no deploy mapping."""
    if (
        isinstance(layer, nn.Conv2d)
        and type(layer).forward is BinaryConv2d.forward
        and type(layer).op is BinaryConv2d.op
    ):
        if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
            raise BnnError(
                f"deploy: layer {name} ({type(layer).__name__}) pads with {layer.padding!r}/"
                f"{layer.padding_mode!r}; only explicit zero padding maps onto a binary kernel"
            )
        op = "conv"
    elif (
        isinstance(layer, nn.Linear)
        and type(layer).forward is BinaryLinear.forward
        and type(layer).op is BinaryLinear.op
    ):
        op = "linear"
    else:
        raise BnnError(
            f"deploy: layer {name} ({type(layer).__name__}) is a binarizable layer with its own forward "
            "or op; only BinaryConv2d / BinaryLinear and subclasses that change latent_input or "
            "latent_weight map onto a deployed graph"
        )
    if layer.binary_acts and layer.act_estimator.deploy_refusal:
        raise BnnError(
            f"deploy: layer {name} binarizes activations with the {estimator_name(layer.act_estimator)} "
            f"estimator, {layer.act_estimator.deploy_refusal}"
        )
    return op


def check_module(name: str, module: nn.Module) -> None:
    """A non-binarizable leaf module must be a torch.nn built-in or a known bnn block."""
    if next(module.children(), None) is not None or isinstance(module, BNN_LEAVES):
        return
    if type(module).__module__.startswith("torch.nn.") or estimator_name(module) in ESTIMATORS.names():
        return
    raise BnnError(
        f"deploy: module {name or 'model'} ({type(module).__module__}.{type(module).__qualname__}) has no "
        "deploy mapping; build the model from torch.nn modules and bnn.nn layers"
    )


def check_model(model: nn.Module) -> dict[BinaryLayer, str]:
    """Every binarizable layer's op, after checking that every module maps (one-line error otherwise)."""
    ops: dict[BinaryLayer, str] = {}
    skip: set[nn.Module] = set()
    for name, module in model.named_modules():
        if module in skip:
            continue
        if isinstance(module, BinaryLayer):
            ops[module] = check_layer(name, module)
            skip.update(module.modules())  # its parts (ASD's SE block, estimators) are the layer's business
        else:
            check_module(name, module)
    return ops


def check_sign(name: str, layer: BinaryLayer, x: torch.Tensor) -> None:
    """The layer's eval binarization of ``x`` must be sign(latent_input(x)) with its own sign(0) convention."""
    latent = layer.latent_input(x)
    if not torch.equal(layer.effective_input(x), sign(latent, layer.act_estimator.zero)):
        raise BnnError(
            f"deploy: layer {name}'s activation binarization in eval ({estimator_name(layer.act_estimator)}) "
            "is not sign(latent input), so no threshold reproduces it; use a deterministic estimator"
        )


@torch.no_grad()
def trace_layers(model: nn.Module, in_shape: tuple[int, ...]) -> list[tuple[BinaryLayer, LayerRecord]]:
    """The binarizable layers in the order one eval forward calls them, with their records (and checks);
    a layer the forward never calls is not part of the deployed graph."""
    ops = check_model(model)
    names = {module: name for name, module in model.named_modules()}
    calls: list[tuple[BinaryLayer, LayerRecord]] = []

    def record(layer, args):
        x = args[0]
        if layer.binary_acts:
            check_sign(names[layer], layer, x)
        zero = layer.act_estimator.zero if layer.binary_acts else "plus"
        if ops[layer] == "linear" and x.dim() != 2:
            raise BnnError(
                f"deploy: layer {names[layer]} is a BinaryLinear on inputs of shape {list(x.shape)}; "
                "only (batch, features) inputs map onto a deployed graph"
            )
        calls.append((layer, LayerRecord(names[layer], layer_kind(layer), ops[layer], tuple(x.shape[1:]), zero)))

    handles = [layer.register_forward_pre_hook(record) for layer in ops]
    modes = {m: m.training for m in model.modules()}
    generator = torch.Generator().manual_seed(0)
    try:
        model.eval()(torch.randn(2, *in_shape, generator=generator))
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training
    if len({layer for layer, _ in calls}) != len(calls):
        raise BnnError("deploy: a binarizable layer is called twice in one forward pass; each must run once")
    return calls
