"""Deploy agreement swept over input-channel counts, sign(0) conventions and batch sizes (docs/deploy.md).

For each channel count C: ``convnet`` with channels [C, C, 8] (its two W1/A1 convs read C channels) and
``mlp`` with hidden [C, C, 16] and ReLU (its two W1/A1 Linears read C features, with exact zeros), random
weights and realistic BN statistics, each with ``sign_zero`` plus and zero, exported with ``bnn.deploy`` and
run in OpenVINO (compiled at batch 1 and 64) and onnxruntime on 256 random inputs against PyTorch eval.
Prints one row per case (agreement %, largest logit difference, BinaryConvolution nodes) and a verdict line.
Not a test. Example:

    PYTHONPATH=. python benchmarks/deploy_agreement.py --channels 1-65
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import torch

from bnn.config.spec import BinarySpec, ModelSpec
from bnn.deploy.artifacts import export_model
from bnn.deploy.latency import onnxruntime_session
from bnn.deploy.openvino_graph import census, compile_cpu
from bnn.deploy.verify import chunked_infer
from bnn.nn import binary_layers, set_layer_states
from bnn.train.model import build_model

IN_SHAPE, IMAGES, BATCHES = (1, 8, 8), 256, (1, 64)


def model_for(arch: str, channels: int, sign_zero: str) -> torch.nn.Module:
    """The swept model (module docstring), inner layers W1/A1, BN statistics and affine parameters random."""
    options = {"channels": [channels, channels, 8]} if arch == "convnet" else {"hidden": [channels, channels, 16]}
    options |= {"activation": "relu"} if arch == "mlp" else {}
    torch.manual_seed(channels)
    binary = BinarySpec.parse({"scaling": "channel_mean", "sign_zero": sign_zero}, "binary")
    model = build_model(ModelSpec.parse({"arch": arch, **options}, "model"), 10, IN_SHAPE, binary)
    count = len(binary_layers(model))
    set_layer_states(model, [[False, False]] + [[True, True]] * (count - 2) + [[False, False]])
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.normal_(0.0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.2)
    return model.eval()


def agreement(logits: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    return float((logits.argmax(1) == reference.argmax(1)).mean() * 100), float(np.abs(logits - reference).max())


@torch.no_grad()
def case(arch: str, channels: int, sign_zero: str) -> dict:
    model = model_for(arch, channels, sign_zero)
    x = torch.randn(IMAGES, *IN_SHAPE, generator=torch.Generator().manual_seed(1))
    reference = model(x).numpy()
    with tempfile.TemporaryDirectory(prefix="bnn-sweep-") as scratch:
        deployed = export_model(model, IN_SHAPE, scratch, scratch, 1, (1, *BATCHES))
        results = {}
        for batch in BATCHES:
            compiled = compile_cpu(deployed.ir, IN_SHAPE, batch, 1)
            logits = chunked_infer(compiled.create_infer_request(), x.numpy(), batch)
            results[f"openvino@{batch}"] = agreement(logits, reference)
            nodes, _ = census(compiled, deployed.records)
        session = onnxruntime_session(deployed.onnx, 1)
        results["onnxruntime"] = agreement(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0], reference)
    return {"arch": arch, "channels": channels, "sign_zero": sign_zero, "binary_convolutions": nodes, **results}


def channel_range(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=channel_range, default=channel_range("1-65"), help="e.g. 1-65 (default)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    worst = 100.0
    print("| arch | C | sign(0) | BinaryConvolution | agreement % b1 / b64 / onnxruntime | max logit diff |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    for arch in ("convnet", "mlp"):
        for channels in args.channels:
            for sign_zero in ("plus", "zero"):
                r = case(arch, channels, sign_zero)
                rates = [r[k][0] for k in ("openvino@1", "openvino@64", "onnxruntime")]
                diff = max(r[k][1] for k in ("openvino@1", "openvino@64", "onnxruntime"))
                worst = min(worst, *rates)
                print(f"| {arch} | {channels} | {sign_zero} | {r['binary_convolutions']} | "
                      f"{' / '.join(f'{v:.1f}' for v in rates)} | {diff:.2g} |", flush=True)  # fmt: skip
    print(f"lowest agreement over {2 * 2 * len(args.channels)} models x 3 cases: {worst:.2f} %")


if __name__ == "__main__":
    main()
