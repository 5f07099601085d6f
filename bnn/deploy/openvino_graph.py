"""The OpenVINO graph of a deploy twin: binary thresholds as FakeQuantize(levels=2), IR files, compiled
models and the census of their ``BinaryConvolution`` nodes.

OpenVINO's CPU plugin turns ``FakeQuantize(levels=2)`` feeding a ``Convolution`` with ±1 constant weights
into one ``BinaryConvolution`` (bit-packed input channels, XNOR + popcount) when that convolution is the
FakeQuantize's only consumer and the output levels are {0, 1} (with {-1, +1} the kernel pads with -1 and
the result is wrong; with {0, 1} it pads exactly). Its binarization sets bit = (x > input_low) for
input_low = input_high, so a W1/A1 layer's ONNX ``Cast(GreaterOrEqual(z, t))`` becomes
``FakeQuantize(z, t', t', 0, 1, levels=2)`` with t' the float32 just below t: x > t' is x >= t for every
float32 x. Each W1/A1 convolution gets its own FakeQuantize, also where several read one tensor (a
strided block's conv and binary shortcut, ReActNet's two 1x1 convs). Inference runs in f32 (no bf16
hint) so that it computes what PyTorch computes.

A FakeQuantize(levels=2) that does not become a BinaryConvolution is unsafe to run (the plugin gives it
a 1-bit output), so :func:`binary_model` compiles, takes the census, and leaves the layers that did not
convert with their exact float threshold; the census records which layers those are.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from bnn.deploy.mapping import LayerRecord
from bnn.deploy.onnx_export import BINARY_CONV
from bnn.errors import BnnError

BINARY_OP = "BinaryConvolution"
MAX_RANK = 4  # constants of rank 0..4 broadcast to a 4-D input: up to 5 binary convs may read one tensor


def threshold_of(conv: ov.Node, layer: str) -> tuple[ov.Output, np.ndarray]:
    """(z, t) of the ``Convert(GreaterEqual(z, t))`` input of a W1/A1 layer's ``conv``."""
    cast = conv.input_value(0).get_node()
    compare = cast.input_value(0).get_node() if cast.get_type_name() == "Convert" else None
    threshold = compare.input_value(1).get_node() if compare is not None else None
    if compare is None or compare.get_type_name() != "GreaterEqual" or threshold.get_type_name() != "Constant":
        raise BnnError(
            f"deploy: layer {layer}'s threshold changed form in the OpenVINO graph (expected "
            "GreaterEqual + Convert into its Convolution)"
        )
    return compare.input_value(0), threshold.get_data().astype(np.float32)


def fake_quantize(z: ov.Output, threshold: np.ndarray, rank: int, name: str) -> ov.Node:
    """FakeQuantize(z, t', t', 0, 1, levels=2), t' just below ``threshold``, as a constant of ``rank`` ones:
    the CPU plugin merges FakeQuantize nodes of one input whose constants have equal shapes and values, and a
    merged one (two consumers) cannot become a BinaryConvolution, so siblings get constants of distinct ranks."""
    below = np.nextafter(threshold, np.float32(-np.inf)).astype(np.float32).reshape([1] * rank)
    low = ops.constant(below)
    return ops.fake_quantize(z, low, low, ops.constant(np.float32(0.0)), ops.constant(np.float32(1.0)), 2, name=name)


@lru_cache(maxsize=1)
def core() -> ov.Core:
    """The process's one OpenVINO runtime: its CPU plugin is loaded once and stays loaded (creating and releasing
    several ``ov.Core`` objects in one process has crashed OpenVINO builds, openvinotoolkit/openvino#35338)."""
    return ov.Core()


def binarized_graph(onnx_path: str | Path, records: list[LayerRecord], keep_float: frozenset = frozenset()) -> ov.Model:
    """The OpenVINO model of an exported ONNX twin with each W1/A1 layer's threshold as its own
    FakeQuantize(levels=2), except the layers in ``keep_float``, which keep their exact float threshold."""
    model = core().read_model(str(onnx_path))
    convs = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    siblings: dict[tuple, int] = {}
    for record in records:
        if record.kind != "W1/A1" or record.name in keep_float:
            continue
        conv = convs.get(record.name + BINARY_CONV)
        if conv is None or conv.get_type_name() != "Convolution":
            raise BnnError(f"deploy: layer {record.name}'s binary convolution is missing from the OpenVINO graph")
        z, threshold = threshold_of(conv, record.name)
        key = (z.get_node().get_name(), z.get_index())
        siblings[key] = rank = siblings.get(key, -1) + 1
        binarized = fake_quantize(z, threshold, min(rank, MAX_RANK), f"{record.name}/binarize")
        conv.input(0).replace_source_output(binarized.output(0))
    model.validate_nodes_and_infer_types()
    return model


def save_ir(model: ov.Model, xml_path: str | Path) -> Path:
    """Write ``model`` as IR ``xml_path`` + its ``.bin`` (float32 weights, not compressed), atomically:
    both are written in a temporary folder beside the target and renamed, the ``.bin`` first."""
    xml_path = Path(xml_path)
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=xml_path.parent, prefix=f".{xml_path.stem}.") as tmp:
        staged = Path(tmp) / xml_path.name
        ov.save_model(model, str(staged), compress_to_fp16=False)
        os.replace(staged.with_suffix(".bin"), xml_path.with_suffix(".bin"))
        os.replace(staged, xml_path)
    return xml_path


def compile_cpu(model: ov.Model | str | Path, in_shape: tuple[int, ...], batch: int, threads: int) -> ov.CompiledModel:
    """``model`` (or an IR/ONNX path) compiled for the CPU at a static batch (BinaryConvolution needs static
    shapes), ``threads`` inference threads, one stream, latency hint, f32 precision."""
    model = core().read_model(str(model)) if isinstance(model, (str, Path)) else model.clone()
    model.reshape([batch, *in_shape])
    config = {
        "INFERENCE_NUM_THREADS": int(threads),
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": "f32",
    }
    return core().compile_model(model, "CPU", config)


def census(compiled: ov.CompiledModel, records: list[LayerRecord]) -> tuple[int, dict[str, bool]]:
    """The number of BinaryConvolution nodes in the compiled (runtime) graph, and per W1/A1 layer whether
    its convolution is one of them, from the nodes' ``layerType`` and ``originalLayersNames``."""
    count, binary = 0, set()
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        if info["layerType"].astype(str) != BINARY_OP:
            continue
        count += 1
        names = info["originalLayersNames"].astype(str) if "originalLayersNames" in info else op.get_friendly_name()
        binary.update(names.split(","))
    return count, {r.name: r.name + BINARY_CONV in binary for r in records if r.kind == "W1/A1"}


def binary_model(
    onnx_path: str | Path,
    records: list[LayerRecord],
    in_shape: tuple[int, ...],
    threads: int,
    batches: tuple[int, ...] = (1,),
) -> tuple[ov.Model, dict[str, bool], str]:
    """The binarized graph whose every FakeQuantize compiles to a BinaryConvolution on this CPU at each of
    ``batches``; the per-layer record (True: BinaryConvolution); a note ('' when every W1/A1 layer converted).
    Layers that do not convert keep their exact float threshold (a rerun without their FakeQuantize)."""
    keep_float, note = frozenset(), ""
    if not any(record.kind == "W1/A1" for record in records):
        return binarized_graph(onnx_path, records), {}, note
    for _ in range(len(records) + 1):
        model = binarized_graph(onnx_path, records, keep_float)
        missing = set()
        for batch in batches:
            try:
                _, layers = census(compile_cpu(model, in_shape, batch, threads), records)
            except RuntimeError as exc:  # a CPU plugin without BinaryConvolution refuses the graph
                first = (str(exc).strip().splitlines() or ["RuntimeError"])[0]
                note = f"OpenVINO could not compile the binary graph on this CPU ({first[:160]})"
                layers = {r.name: False for r in records if r.kind == "W1/A1"}
            missing |= {name for name, ok in layers.items() if not ok}
        if missing <= keep_float:
            return model, {name: name not in keep_float for name in layers}, note
        keep_float |= missing
    raise BnnError("deploy: OpenVINO kept changing which binary layers compile to BinaryConvolution")
