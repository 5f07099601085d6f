"""``onnxruntime``: ``model.onnx`` in onnxruntime on the CPU (W1/A1 layers as float convs on 0/1 inputs: no binary
kernel)."""

from bnn.deploy.backends.base import Backend, Prepared, register
from bnn.deploy.latency import onnxruntime_runner, onnxruntime_session


def engine() -> str:
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


def prepare(deployed, x, array, threads: int) -> Prepared:
    return Prepared(onnxruntime_runner(onnxruntime_session(deployed.onnx, threads), array))


ONNXRUNTIME = register(Backend("onnxruntime", prepare, engine, deployed=True))
