"""The deployed files against PyTorch on a data split: the same images through the checkpoint's eval
(``torch-binary``, the reference), the OpenVINO IR (``openvino-binary``) and the ONNX file in
onnxruntime (``onnxruntime``).

Per backend: ``top1`` (% of images whose top class is the label), ``agreement_pct`` (% of images whose
top class equals PyTorch's) and ``max_logit_diff`` (largest |logit - PyTorch logit|). Binarization
amplifies float rounding: a latent input within rounding distance of its threshold may take the other
sign in another engine's arithmetic (fused BN, another summation order), so agreement can fall short of
100 % by such ties without any error in the mapping.

``sign_zero_inputs`` counts the binarized inputs of W1/A1 layers with ``sign_zero: zero`` that were
exactly 0 in PyTorch: there sign(0) = 0, while the binary kernel (and the ONNX twin) gives +1
(bnn.deploy.twin), so those inputs differ by design; 0 means the deployed graph computes the same signs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bnn.data import make_loader
from bnn.deploy.artifacts import Deployed
from bnn.deploy.latency import onnxruntime_session, torch_threads
from bnn.deploy.openvino_graph import compile_cpu

VERIFY_BATCH = 256
VERIFIED = ("torch-binary", "openvino-binary", "onnxruntime")


@dataclass
class Agreement:
    """Running top-1, agreement with the reference and largest logit difference of one backend."""

    images: int = 0
    correct: int = 0
    agree: int = 0
    max_diff: float = 0.0

    def update(self, logits: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> None:
        top = logits.argmax(axis=1)
        self.images += len(labels)
        self.correct += int((top == labels).sum())
        self.agree += int((top == reference.argmax(axis=1)).sum())
        self.max_diff = max(self.max_diff, float(np.abs(logits - reference).max()))

    def record(self) -> dict:
        return {
            "top1": round(100.0 * self.correct / self.images, 4),
            "agreement_pct": round(100.0 * self.agree / self.images, 4),
            "max_logit_diff": self.max_diff,
        }


@dataclass
class SignZeroCounter:
    """Counts exact zeros among the binarized inputs of W1/A1 layers whose sign(0) is 0 (forward pre-hooks)."""

    zeros: int = 0
    handles: list = field(default_factory=list)

    def attach(self, deployed: Deployed) -> None:
        modules = dict(deployed.model.named_modules())
        for record in deployed.records:
            if record.kind == "W1/A1" and record.sign_zero == "zero":
                self.handles.append(modules[record.name].register_forward_pre_hook(self.count))

    def count(self, layer, args) -> None:
        self.zeros += int((layer.latent_input(args[0]) == 0).sum())

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()


def padded_infer(request, x: np.ndarray, batch: int) -> np.ndarray:
    """OpenVINO inference of ``x`` on a model compiled for a static ``batch``; a short last batch is zero-padded."""
    count = len(x)
    if count < batch:
        x = np.concatenate([x, np.zeros((batch - count, *x.shape[1:]), dtype=x.dtype)])
    return request.infer({0: x})[0][:count].copy()


@torch.no_grad()
def verify(
    deployed: Deployed, data_dir: str | Path, meta: dict, threads: int, split: str = "test", batch: int = VERIFY_BATCH
) -> dict:
    """Per backend of VERIFIED its :class:`Agreement` record, plus ``test_images`` and ``sign_zero_inputs``."""
    request = compile_cpu(deployed.ir, deployed.in_shape, batch, threads).create_infer_request()
    session = onnxruntime_session(deployed.onnx, threads)
    stats = {backend: Agreement() for backend in VERIFIED}
    counter = SignZeroCounter()
    counter.attach(deployed)
    try:
        with torch_threads(threads):
            for x, y in make_loader(data_dir, meta, split, batch, torch.device("cpu")):
                reference = deployed.model(x).numpy()
                images, labels = x.numpy(), y.numpy()
                outputs = {
                    "torch-binary": reference,
                    "openvino-binary": padded_infer(request, images, batch),
                    "onnxruntime": session.run(None, {session.get_inputs()[0].name: images})[0],
                }
                for backend, logits in outputs.items():
                    stats[backend].update(logits, reference, labels)
    finally:
        counter.detach()
    return {
        **{backend: agreement.record() for backend, agreement in stats.items()},
        "test_images": stats["torch-binary"].images,
        "sign_zero_inputs": counter.zeros,
    }
