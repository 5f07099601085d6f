"""Which binary layer of a refused deploy goes wrong first (docs/deploy.md "The gate").

Each W1/A1 layer's binary convolutions compute integer counts conv(x01, S). The deploy twin's counts
(PyTorch, bnn.deploy.twin) and the IR's (an OpenVINO output added at each ``<layer>/binary_conv`` node) are
compared on a few images in call order; the first layer whose counts differ is where the deployed graph
departs from PyTorch (later layers inherit its error).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bnn.deploy.artifacts import Deployed
from bnn.deploy.onnx_export import binary_conv_names
from bnn.deploy.openvino_graph import compile_cpu, core
from bnn.deploy.twin import DeployLayer, deploy_twin


@torch.no_grad()
def twin_counts(deployed: Deployed, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Per binary conv node name, the twin's counts on ``x``."""
    twin, records = deploy_twin(deployed.model, deployed.in_shape)
    layers = dict(twin.named_modules())
    counts: dict[str, np.ndarray] = {}

    def hook(name: str):
        def record(layer: DeployLayer, args) -> None:
            z = layer.source.latent_input(args[0]) if layer.source is not None else args[0]
            z = z[:, :, None, None] if layer.op == "linear" else z
            bits = [layer.binarize] + ([layer.binarize_strict] if layer.binarize_strict is not None else [])
            for node, binarize in zip(binary_conv_names(next(r for r in records if r.name == name)), bits):
                counts[node] = F.conv2d(binarize(z), layer.weight, None, **layer.conv_args).numpy()

        return record

    handles = [layers[r.name].register_forward_pre_hook(hook(r.name)) for r in records if r.kind == "W1/A1"]
    try:
        twin(x)
    finally:
        for handle in handles:
            handle.remove()
    return counts


def first_wrong_layer(deployed: Deployed, x: np.ndarray, batch: int, threads: int) -> str | None:
    """The first W1/A1 layer (call order) whose deployed counts differ from the twin's on ``x`` (``batch`` images
    per call), named with its largest count error; None when every layer's counts agree."""
    expected = twin_counts(deployed, torch.from_numpy(x[:batch]))
    model = core().read_model(str(deployed.ir))
    nodes = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    present = [name for name in expected if name in nodes]
    model.add_outputs([nodes[name].output(0) for name in present])
    compiled = compile_cpu(model, deployed.in_shape, batch, threads)
    results = compiled.create_infer_request().infer({0: x[:batch]})
    outputs = {name: results[compiled.outputs[1 + i]] for i, name in enumerate(present)}
    for record in deployed.records:
        for name in binary_conv_names(record) if record.kind == "W1/A1" else []:
            if name in outputs and not np.array_equal(outputs[name], expected[name]):
                error = float(np.abs(outputs[name] - expected[name]).max())
                return f"{record.name} (its binary convolution's counts are off by up to {error:g})"
    return None
