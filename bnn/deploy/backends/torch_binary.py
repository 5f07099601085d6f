"""``torch-binary``: the checkpoint's model as trained in PyTorch eval (±1 values in float convolutions); the
reference the deployed files are verified against."""

from bnn.deploy.backends.base import Backend, Prepared, register, torch_engine
from bnn.deploy.latency import torch_runner

TORCH_BINARY = register(
    Backend(
        "torch-binary",
        lambda deployed, x, array, threads: Prepared(torch_runner(deployed.model, x)),
        torch_engine,
    )
)
