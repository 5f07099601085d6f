"""The deploy backends, one module each, registered by name (docs/deploy.md "Backends").

A backend prepares one timed call of a deployed model (:class:`Prepared`) and names its engine. Every module
that names a backend imports its name from here; ``BACKENDS`` is the measuring order and the names
``bnn deploy`` and ``bnn summary --measure`` accept.
"""

from bnn.deploy.backends.base import REGISTRY, Backend, Prepared
from bnn.deploy.backends.onnx_runtime import ONNXRUNTIME
from bnn.deploy.backends.openvino_binary import OPENVINO_BINARY
from bnn.deploy.backends.openvino_float import OPENVINO_FLOAT
from bnn.deploy.backends.torch_binary import TORCH_BINARY
from bnn.deploy.backends.torch_float import TORCH_FLOAT

BACKENDS = (TORCH_FLOAT, TORCH_BINARY, OPENVINO_FLOAT, OPENVINO_BINARY, ONNXRUNTIME)
DEPLOYED = tuple(name for name in BACKENDS if REGISTRY.get(name).deployed)  # verified against TORCH_BINARY, gated

__all__ = [
    "BACKENDS",
    "DEPLOYED",
    "ONNXRUNTIME",
    "OPENVINO_BINARY",
    "OPENVINO_FLOAT",
    "REGISTRY",
    "TORCH_BINARY",
    "TORCH_FLOAT",
    "Backend",
    "Prepared",
]
