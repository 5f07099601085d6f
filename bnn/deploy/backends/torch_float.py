"""``torch-float``: the deployed model's float twin (every layer real) in PyTorch eval: the plain-PyTorch reference."""

from bnn.deploy.backends.base import Backend, Prepared, register, torch_engine
from bnn.deploy.latency import torch_runner

TORCH_FLOAT = register(
    Backend(
        "torch-float",
        lambda deployed, x, array, threads: Prepared(torch_runner(deployed.float_model, x)),
        torch_engine,
    )
)
