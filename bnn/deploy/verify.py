"""The deployed files against PyTorch on a data split, and the agreement gate (docs/deploy.md "The gate").

The same test images go through the checkpoint's eval (``torch-binary``, the reference), the OpenVINO IR
(``openvino-binary``) compiled in the precision the IR records at every deploy batch (batch 1 included),
and the ONNX file in onnxruntime. Per backend and batch (:class:`Agreement`): ``top1``, ``agreement_pct``
(% of images whose top class equals PyTorch's), ``max_logit_diff`` (largest |logit - PyTorch logit|) and
``logit_diff_bulk`` (the same over every image but the ``tie_images``: those where some binarized input lies
within rounding of its threshold in PyTorch, :class:`TieDetector`).

The gate (:func:`gate`) refuses a deploy whose agreement is below ``MIN_AGREEMENT`` or whose
``logit_diff_bulk`` exceeds ``LOGIT_RTOL`` x (1 + the largest |PyTorch logit|). The deployed graphs compute
each binary convolution exactly (integer counts) but round their float parts (fused BN, another summation
order) differently from PyTorch, by about 1e-6 relative per layer, more after 18 of them; a latent input within
that distance of its threshold may take the other sign and move that image's logits (measured: a latent input
of 1.5e-8 moved one image's logits by 0.02; in a CIFAR-10 ResNet-20 one at 1.6e-5 relative moved one by 0.14).
Only those images may differ more, and only they: a tie is found in PyTorch's own values, never inferred from
the difference.

OpenVINO's own default precision on this CPU (a plain ``compile_model`` of ``model.xml``) is recorded; where it
is not the verified one (bf16 on CPUs with AVX-512 BF16 or AMX), the IR is verified under it as well at batch 1
and that agreement is recorded beside, not gated (bnn's own runs compile with the recorded precision).

``sign_zero_inputs`` counts the binarized inputs of ``sign_zero: zero`` W1/A1 layers that were exactly 0 in
PyTorch: sign0 maps them to 0, and so does the deployed graph (bnn.deploy.twin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch

from bnn.data import make_loader
from bnn.deploy.artifacts import Deployed
from bnn.deploy.backends import ONNXRUNTIME, OPENVINO_BINARY, TORCH_BINARY
from bnn.deploy.latency import onnxruntime_session, torch_threads
from bnn.deploy.openvino_graph import PRECISION, compile_cpu, compile_default, precision_of
from bnn.errors import BnnError

VERIFY_BATCH = 256  # images per PyTorch / onnxruntime call; OpenVINO runs them at its compiled batch
MIN_AGREEMENT = 99.9  # % of images whose top-1 class must equal PyTorch's
LOGIT_RTOL = 1e-3  # logit tolerance relative to 1 + the largest |PyTorch logit|
TIE_RTOL = 1e-4  # a binarized input within this of 0, relative to 1 + its image's largest |input|, is a tie
# (docs/deploy.md "The gate": OpenVINO's f32 latent inputs moved by at least 1.6e-5 of that in a CIFAR-10 ResNet-20)
DEFAULT_CASE = "openvino-default@1"  # the IR under OpenVINO's default precision, where that is not PRECISION


@dataclass
class Agreement:
    """Running top-1, agreement with the reference and logit differences of one backend at one batch."""

    images: int = 0
    correct: int = 0
    agree: int = 0
    scale: float = 0.0
    errors: list = field(default_factory=list)
    ties: list = field(default_factory=list)

    def update(self, logits: np.ndarray, reference: np.ndarray, labels: np.ndarray, ties: np.ndarray) -> None:
        top = logits.argmax(axis=1)
        self.images += len(labels)
        self.correct += int((top == labels).sum())
        self.agree += int((top == reference.argmax(axis=1)).sum())
        self.scale = max(self.scale, float(np.abs(reference).max()))
        self.errors.append(np.abs(logits - reference).max(axis=1))
        self.ties.append(ties)

    def record(self) -> dict:
        errors, ties = np.concatenate(self.errors), np.concatenate(self.ties)
        bulk = errors[~ties]
        return {
            "top1": round(100.0 * self.correct / self.images, 4),
            "agreement_pct": round(100.0 * self.agree / self.images, 4),
            "max_logit_diff": float(errors.max()),
            "logit_diff_bulk": float(bulk.max()) if len(bulk) else 0.0,
            "tie_images": int(ties.sum()),
            "logit_tolerance": LOGIT_RTOL * (1.0 + self.scale),
        }


@dataclass
class TieDetector:
    """Forward pre-hooks on the layers with binary activations: per image, whether some binarized input is within
    ``TIE_RTOL`` x (1 + the image's largest |input| there) of its threshold but not on it (a rounding tie), and the
    count of exact zeros binarized by ``sign_zero: zero`` W1/A1 layers (``zeros``)."""

    zeros: int = 0
    handles: list = field(default_factory=list)
    batch_ties: torch.Tensor | None = None

    def attach(self, deployed: Deployed) -> None:
        modules = dict(deployed.model.named_modules())
        for record in deployed.records:
            if record.kind in ("W1/A1", "W32/A1"):
                counts_zeros = record.kind == "W1/A1" and record.sign_zero == "zero"
                self.handles.append(modules[record.name].register_forward_pre_hook(partial(self.inspect, counts_zeros)))

    def inspect(self, counts_zeros: bool, layer, args) -> None:
        z = layer.latent_input(args[0]).flatten(1)
        magnitude = z.abs()
        bound = TIE_RTOL * (1.0 + magnitude.amax(dim=1, keepdim=True))
        near = ((magnitude > 0) & (magnitude <= bound)).any(dim=1)  # an exact 0 is the same in every engine
        self.batch_ties = near if self.batch_ties is None else self.batch_ties | near
        if counts_zeros:
            self.zeros += int((z == 0).sum())

    def take(self) -> np.ndarray:
        """The tie flags of the images since the last call."""
        ties, self.batch_ties = self.batch_ties, None
        return ties.numpy()

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()


def chunked_infer(request, x: np.ndarray, batch: int) -> np.ndarray:
    """OpenVINO inference of ``x`` on a model compiled for a static ``batch``, ``batch`` images per call; a short
    last chunk is zero-padded."""
    outputs = []
    for start in range(0, len(x), batch):
        chunk = x[start : start + batch]
        count = len(chunk)
        if count < batch:
            chunk = np.concatenate([chunk, np.zeros((batch - count, *chunk.shape[1:]), dtype=chunk.dtype)])
        outputs.append(request.infer({0: chunk})[0][:count].copy())
    return np.concatenate(outputs)


def case_name(backend: str, batch: int) -> str:
    """The verification case of ``backend`` compiled at ``batch``, e.g. ``openvino-binary@64``."""
    return f"{backend}@{batch}"


@torch.no_grad()
def verify(
    deployed: Deployed, data_dir: str | Path, meta: dict, threads: int, batches: tuple[int, ...], split: str = "test"
) -> dict:
    """``cases``: per backend (``openvino-binary`` per batch of ``{1, *batches}``) its :class:`Agreement`
    record; ``precision`` (the verified one) and ``default_precision`` (OpenVINO's default here, with its
    ``default_agreement`` at batch 1 where it differs); ``test_images``; ``sign_zero_inputs``."""
    requests = {}
    for b in sorted({1, *batches}):
        compiled = compile_cpu(deployed.ir, deployed.in_shape, b, threads)
        requests[case_name(OPENVINO_BINARY, b)] = (compiled.create_infer_request(), b)
    default = compile_default(deployed.ir)
    default_precision = precision_of(default)
    if default_precision != PRECISION:
        requests[DEFAULT_CASE] = (default.create_infer_request(), 1)
    session = onnxruntime_session(deployed.onnx, threads)
    stats = {name: Agreement() for name in [TORCH_BINARY, *requests, ONNXRUNTIME]}
    detector = TieDetector()
    detector.attach(deployed)
    try:
        with torch_threads(threads):
            for x, y in make_loader(data_dir, meta, split, VERIFY_BATCH, torch.device("cpu")):
                reference = deployed.model(x).numpy()
                ties = detector.take() if detector.handles else np.zeros(len(y), dtype=bool)
                images, labels = x.numpy(), y.numpy()
                outputs = {name: chunked_infer(request, images, b) for name, (request, b) in requests.items()}
                outputs[TORCH_BINARY] = reference
                outputs[ONNXRUNTIME] = session.run(None, {session.get_inputs()[0].name: images})[0]
                for name, logits in outputs.items():
                    stats[name].update(logits, reference, labels, ties)
    finally:
        detector.detach()
    cases = {name: agreement.record() for name, agreement in stats.items()}
    return {
        "cases": {name: record for name, record in cases.items() if name != DEFAULT_CASE},
        "precision": PRECISION,
        "default_precision": default_precision,
        "default_agreement": cases.get(DEFAULT_CASE),
        "test_images": stats[TORCH_BINARY].images,
        "sign_zero_inputs": detector.zeros,
    }


def passes(record: dict) -> bool:
    return record["agreement_pct"] >= MIN_AGREEMENT and record["logit_diff_bulk"] <= record["logit_tolerance"]


def gate(verification: dict, locate: Callable[[int], str | None] | None = None) -> None:
    """A one-line BnnError naming the first deployed case that fails the gate (module docstring) and, for an
    OpenVINO case, the first wrong layer that ``locate(batch)`` finds (bnn.deploy.locate)."""
    for name, record in verification["cases"].items():
        if name == TORCH_BINARY or passes(record):
            continue
        backend, _, batch = name.partition("@")
        where = f"{backend} at batch {batch}" if batch else backend
        layer = locate(int(batch)) if locate is not None and batch else None
        raise BnnError(
            f"deploy: {where} agrees with PyTorch on {record['agreement_pct']:.2f} % of "
            f"{verification['test_images']} test images (needs >= {MIN_AGREEMENT} %) with logit differences up "
            f"to {record['logit_diff_bulk']:.3g} on the {verification['test_images'] - record['tie_images']} without a "
            f"rounding tie (tolerance "
            f"{record['logit_tolerance']:.3g}); {f'first wrong layer: {layer}; ' if layer else ''}"
            'the deploy is refused and nothing was written (docs/deploy.md "The gate")'
        )


def backend_record(verification: dict, backend: str, batch: int) -> dict | None:
    """The verification record of ``backend`` for a row at ``batch`` (None for unverified backends)."""
    cases = verification["cases"]
    return cases.get(case_name(backend, batch)) or cases.get(backend)
