"""The deploy twin as plain ONNX (standard opset, no custom op), with each binary conv named after its layer.

The twin is traced by torch's TorchScript-based exporter (``dynamo=False``: a fraction of a second per
model, and it keeps every op of the twin as written). The batch dimension is dynamic. Each W1/A1 layer
appears as ``GreaterOrEqual -> Cast -> Conv`` (bnn.deploy.twin); its Conv node is renamed
``<layer>/binary_conv`` and its threshold nodes ``<layer>/binarize/...``, so the OpenVINO graph and its
compiled form can be traced back to the layer. A Conv is matched to its layer by its ±1 weights.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from bnn.deploy.mapping import LayerRecord
from bnn.errors import BnnError
from bnn.io import atomic_path

OPSET = 17
INPUT, OUTPUT = "images", "logits"
BINARY_CONV = "/binary_conv"  # suffix of a W1/A1 layer's Conv node name
COMPARISONS = {"GreaterOrEqual": "", "Greater": "_gt"}  # ONNX op of the input bit -> suffix after BINARY_CONV


def binary_conv_names(record: LayerRecord) -> list[str]:
    """The Conv node names of a W1/A1 layer: one on [z >= 0], and for sign_zero: zero one on [z > 0] too."""
    suffixes = COMPARISONS.values() if record.sign_zero == "zero" else [COMPARISONS["GreaterOrEqual"]]
    return [record.name + BINARY_CONV + suffix for suffix in suffixes]


def trace(twin: nn.Module, in_shape: tuple[int, ...]) -> onnx.ModelProto:
    """The twin as an ONNX model with a dynamic batch dimension; a failing trace is one line."""
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                twin,
                (torch.zeros(1, *in_shape),),
                buffer,
                dynamo=False,
                opset_version=OPSET,
                input_names=[INPUT],
                output_names=[OUTPUT],
                dynamic_axes={INPUT: {0: "batch"}, OUTPUT: {0: "batch"}},
            )
    except Exception as exc:  # the exporter raises many types, with multi-line text
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BnnError(f"deploy: torch.onnx.export cannot trace {type(twin).__name__} ({first})") from None
    return onnx.load_from_string(buffer.getvalue())


def binary_convs(graph: onnx.GraphProto) -> list[tuple[onnx.NodeProto, onnx.NodeProto, onnx.NodeProto]]:
    """(GreaterOrEqual or Greater, Cast, Conv) chains in graph order: the binary kernels' candidates."""
    producer = {output: node for node in graph.node for output in node.output}
    chains = []
    for node in graph.node:
        cast = producer.get(node.input[0]) if node.op_type == "Conv" else None
        compare = producer.get(cast.input[0]) if cast is not None and cast.op_type == "Cast" else None
        if compare is not None and compare.op_type in COMPARISONS:
            chains.append((compare, cast, node))
    return chains


def name_binary_convs(model: onnx.ModelProto, records: list[LayerRecord], weights: dict[str, np.ndarray]) -> None:
    """Rename each W1/A1 layer's GreaterOrEqual/Cast/Conv nodes after the layer (``weights``: layer -> ±1 signs)."""
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    constants.update(
        {
            node.output[0]: numpy_helper.to_array(node.attribute[0].t)
            for node in model.graph.node
            if node.op_type == "Constant" and node.attribute[0].name == "value"
        }
    )
    pending = {name: record.name for record in records if record.kind == "W1/A1" for name in binary_conv_names(record)}
    for compare, cast, conv in binary_convs(model.graph):
        if conv.input[1] not in constants:
            continue
        kernel, suffix = constants[conv.input[1]], COMPARISONS[compare.op_type]
        match = next(
            (
                name
                for name, layer in pending.items()
                if name.endswith(BINARY_CONV + suffix)
                and weights[layer].shape == kernel.shape
                and np.array_equal(weights[layer], kernel)
            ),
            None,
        )
        if match is None:
            continue
        layer = pending.pop(match)
        compare.name, cast.name = f"{layer}/binarize{suffix}/compare", f"{layer}/binarize{suffix}/cast"
        conv.name = match
    if pending:
        raise BnnError(
            f"deploy: layer {next(iter(pending.values()))}'s binary convolution is missing from the traced ONNX "
            "graph; a module between its threshold and its convolution changed the graph"
        )


def export_onnx(twin: nn.Module, records: list[LayerRecord], in_shape: tuple[int, ...], path: str | Path) -> Path:
    """Write the twin as ``path`` (.onnx, checked by onnx.checker) and return the path."""
    model = trace(twin, tuple(in_shape))
    layers = dict(twin.named_modules())
    weights = {r.name: layers[r.name].weight.numpy() for r in records if r.kind == "W1/A1"}
    name_binary_convs(model, records, weights)
    onnx.checker.check_model(model)
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return Path(path)
