"""A model's deployed files: the binary twin as ONNX and as OpenVINO IR, and the float twin for latency.

``model.onnx`` is plain ONNX (opset 17, dynamic batch) for any runtime; ``model.xml`` + ``model.bin`` is
the OpenVINO IR whose W1/A1 thresholds are FakeQuantize(levels=2) wherever they compile to
BinaryConvolution on this CPU (bnn.deploy.openvino_graph.binary_model). The IR's batch is 1, because
BinaryConvolution compiles for static shapes only; ``model.reshape([B, C, H, W])`` before compiling
sets another. The float twin (every layer real, the same architecture)
is only a latency baseline and goes to a scratch folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from bnn.deploy.mapping import LayerRecord
from bnn.deploy.onnx_export import export_onnx
from bnn.deploy.openvino_graph import binary_model, save_ir
from bnn.deploy.twin import deploy_twin, float_model

ONNX_NAME, IR_NAME, FLOAT_ONNX_NAME = "model.onnx", "model.xml", "float.onnx"


@dataclass
class Deployed:
    """A model and its deployed files; ``compiled``: per W1/A1 layer, True when it compiles to a
    BinaryConvolution on this CPU; ``note``: why some did not ('' when all did)."""

    model: nn.Module
    float_model: nn.Module
    in_shape: tuple[int, ...]
    records: list[LayerRecord]
    onnx: Path
    ir: Path
    float_onnx: Path
    compiled: dict[str, bool]
    note: str

    def count(self, kind: str) -> int:
        return sum(record.kind == kind for record in self.records)

    def layer_counts(self) -> dict[str, int]:
        """``binary_layers`` (W1/A1), ``binary_layers_compiled`` (of those, BinaryConvolution at export),
        ``weight_only_layers`` (W1/A32) and ``act_only_layers`` (W32/A1)."""
        return {
            "binary_layers": self.count("W1/A1"),
            "binary_layers_compiled": sum(self.compiled.values()),
            "weight_only_layers": self.count("W1/A32"),
            "act_only_layers": self.count("W32/A1"),
        }


def export_model(
    model: nn.Module,
    in_shape: tuple[int, ...],
    out_dir: str | Path,
    scratch_dir: str | Path,
    threads: int,
    batches: tuple[int, ...] = (1,),
) -> Deployed:
    """Write ``out_dir``/model.onnx, model.xml, model.bin and ``scratch_dir``/float.onnx for ``model``
    (eval mode); ``batches``: the static batches the IR will be compiled for (each is checked)."""
    in_shape = tuple(in_shape)
    model = model.eval()
    twin, records = deploy_twin(model, in_shape)
    onnx_path = export_onnx(twin, records, in_shape, Path(out_dir) / ONNX_NAME)
    graph, compiled, note = binary_model(onnx_path, records, in_shape, threads, batches)
    graph.reshape([1, *in_shape])  # BinaryConvolution compiles for static shapes only: batch 1 unless reshaped
    ir_path = save_ir(graph, Path(out_dir) / IR_NAME)
    floating = float_model(model)
    float_twin, float_records = deploy_twin(floating, in_shape)
    float_onnx = export_onnx(float_twin, float_records, in_shape, Path(scratch_dir) / FLOAT_ONNX_NAME)
    return Deployed(model, floating, in_shape, records, onnx_path, ir_path, float_onnx, compiled, note)
