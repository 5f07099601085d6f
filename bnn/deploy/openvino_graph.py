"""The OpenVINO graph of a deploy twin: binary thresholds as FakeQuantize(levels=2), IR files, compiled
models and the census of their ``BinaryConvolution`` nodes.

OpenVINO's CPU plugin turns ``FakeQuantize(levels=2)`` feeding a ``Convolution`` with ±1 constant weights
into one ``BinaryConvolution`` (bit-packed input channels, XNOR + popcount) when that convolution is the
FakeQuantize's only consumer and the output levels are {0, 1} (with {-1, +1} the kernel pads with -1 and
the result is wrong; with {0, 1} it pads exactly). Its binarization sets bit = (x > input_low) for
input_low = input_high, so a W1/A1 layer's ONNX ``Cast(GreaterOrEqual(z, t))`` becomes
``FakeQuantize(z, t', t', 0, 1, levels=2)`` with t' the float32 just below t (x > t' is x >= t for every
float32 x), and a ``Cast(Greater(z, t))`` (sign0's second bit, bnn.deploy.twin) becomes the same with t' = t.
Each binary convolution gets its own FakeQuantize, also where several read one tensor (a strided
block's conv and binary shortcut, ReActNet's two 1x1 convs, sign0's two bits).

The kernel is wrong when the input-channel count is not a multiple of 8 (its packed bytes' tail bits
count; openvino 2026.4 on AVX2 and AVX-512, any batch): such a layer's input is padded with channels of
value t' - 1 (bit 0, which adds nothing to conv(x01, S)) up to the next multiple of 8, and its weights with
+1 for them, so the kernel computes the exact sum (docs/deploy.md "Exactness").

The IR records the precision it was verified in (``runtime_options``/``INFERENCE_PRECISION_HINT``: f32);
:func:`compile_cpu` compiles with that hint. A FakeQuantize(levels=2) that does not become a
BinaryConvolution is unsafe to run (the plugin gives it a 1-bit output), so :func:`binary_model` compiles,
takes the census, and leaves the layers that did not convert with their exact float thresholds; the census
records which layers those are.
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
from bnn.deploy.onnx_export import binary_conv_names
from bnn.errors import BnnError

BINARY_OP = "BinaryConvolution"
MAX_RANK = 4  # constants of rank 0..4 broadcast to a 4-D input: up to 5 binary convs may read one tensor
CHANNEL_BLOCK = 8  # the kernel is exact when the input channels are a multiple of this
PRECISION = "f32"  # the inference precision deploys are verified in, recorded in the IR
PRECISION_KEY = ["runtime_options", "INFERENCE_PRECISION_HINT"]
COMPARE_OPS = {"GreaterEqual": False, "Greater": True}  # OpenVINO op of the input bit -> strict


def threshold_of(conv: ov.Node, layer: str) -> tuple[ov.Output, np.ndarray]:
    """(z, t') of the ``Convert(GreaterEqual(z, t))`` or ``Convert(Greater(z, t))`` input of a W1/A1 layer's
    ``conv``: the FakeQuantize threshold t' whose ``x > t'`` is the comparison (module docstring)."""
    cast = conv.input_value(0).get_node()
    compare = cast.input_value(0).get_node() if cast.get_type_name() == "Convert" else None
    threshold = compare.input_value(1).get_node() if compare is not None else None
    if (
        compare is None
        or compare.get_type_name() not in COMPARE_OPS
        or threshold.get_type_name() != "Constant"
        or threshold.get_data().size != 1
    ):
        raise BnnError(
            f"deploy: layer {layer}'s threshold changed form in the OpenVINO graph (expected a scalar "
            "GreaterEqual or Greater + Convert into its Convolution)"
        )
    t = threshold.get_data().astype(np.float32).reshape(())
    strict = COMPARE_OPS[compare.get_type_name()]
    return compare.input_value(0), t if strict else np.nextafter(t, np.float32(-np.inf)).astype(np.float32)


def fake_quantize(z: ov.Output, threshold: np.ndarray, rank: int, name: str) -> ov.Node:
    """FakeQuantize(z, t', t', 0, 1, levels=2) for t' = ``threshold``, as a constant of ``rank`` ones: the CPU
    plugin merges FakeQuantize nodes of one input whose constants have equal shapes and values, and a merged
    one (two consumers) cannot become a BinaryConvolution, so siblings get constants of distinct ranks."""
    low = ops.constant(np.asarray(threshold, dtype=np.float32).reshape([1] * rank))
    return ops.fake_quantize(z, low, low, ops.constant(np.float32(0.0)), ops.constant(np.float32(1.0)), 2, name=name)


def pad_channels(z: ov.Output, conv: ov.Node, threshold: np.ndarray, name: str) -> ov.Output:
    """``z`` padded with channels of value t' - 1 (input bit 0) up to a multiple of CHANNEL_BLOCK, and ``conv``'s
    ±1 weights with +1 for them (module docstring); ``z`` itself when its channels already are one."""
    weights = conv.input_value(1).get_node()
    if weights.get_type_name() != "Constant":
        raise BnnError(f"deploy: layer {name}'s binary convolution has no constant weights in the OpenVINO graph")
    kernel = weights.get_data()
    extra = -kernel.shape[1] % CHANNEL_BLOCK
    if extra == 0:
        return z
    padded = np.concatenate([kernel, np.ones((kernel.shape[0], extra, *kernel.shape[2:]), kernel.dtype)], axis=1)
    conv.input(1).replace_source_output(ops.constant(padded).output(0))
    rank = len(kernel.shape)
    begin, end = np.zeros(rank, np.int64), np.zeros(rank, np.int64)
    end[1] = extra
    value = ops.constant(np.float32(threshold - 1.0))
    return ops.pad(z, ops.constant(begin), ops.constant(end), "constant", value, name=f"{name}/pad").output(0)


@lru_cache(maxsize=1)
def core() -> ov.Core:
    """The process's one OpenVINO runtime: its CPU plugin is loaded once and stays loaded (creating and releasing
    several ``ov.Core`` objects in one process has crashed OpenVINO builds, openvinotoolkit/openvino#35338)."""
    return ov.Core()


def binarized_graph(onnx_path: str | Path, records: list[LayerRecord], keep_float: frozenset = frozenset()) -> ov.Model:
    """The OpenVINO model of an exported ONNX twin with each W1/A1 layer's input bits as their own
    FakeQuantize(levels=2) (channels padded where needed), except the layers in ``keep_float``, which keep
    their exact float thresholds; the verified precision recorded in its rt_info."""
    model = core().read_model(str(onnx_path))
    convs = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    siblings: dict[tuple, int] = {}
    for record in records:
        if record.kind != "W1/A1" or record.name in keep_float:
            continue
        for conv_name in binary_conv_names(record):
            conv = convs.get(conv_name)
            if conv is None or conv.get_type_name() != "Convolution":
                raise BnnError(f"deploy: layer {record.name}'s binary convolution is missing from the OpenVINO graph")
            z, threshold = threshold_of(conv, record.name)
            key = (z.get_node().get_name(), z.get_index())
            siblings[key] = rank = siblings.get(key, -1) + 1
            source = pad_channels(z, conv, threshold, conv_name)
            binarized = fake_quantize(source, threshold, min(rank, MAX_RANK), f"{conv_name}/binarize")
            conv.input(0).replace_source_output(binarized.output(0))
    model.validate_nodes_and_infer_types()
    model.set_rt_info(PRECISION, PRECISION_KEY)
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
    shapes), ``threads`` inference threads, one stream, latency hint, PRECISION."""
    model = core().read_model(str(model)) if isinstance(model, (str, Path)) else model.clone()
    model.reshape([batch, *in_shape])
    config = {
        "INFERENCE_NUM_THREADS": int(threads),
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": PRECISION,
    }
    return core().compile_model(model, "CPU", config)


def precision_of(compiled: ov.CompiledModel) -> str:
    """The inference precision ``compiled`` runs in (``f32``, ``bf16``, ...)."""
    return compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()


def compile_default(path: str | Path) -> ov.CompiledModel:
    """``path`` compiled as a user's plain ``core.compile_model(path, "CPU")`` would: OpenVINO's defaults."""
    return core().compile_model(str(path), "CPU")


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
    return count, {r.name: all(name in binary for name in binary_conv_names(r)) for r in records if r.kind == "W1/A1"}


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
