"""``openvino-float``: the float twin (every layer real) in OpenVINO on the CPU, compiled like the binary IR: the
reference of the binary speed-up (same engine, same graph)."""

from bnn.deploy.backends.base import Backend, Prepared, openvino_engine, register
from bnn.deploy.latency import openvino_runner
from bnn.deploy.openvino_graph import compile_cpu, precision_of


def prepare(deployed, x, array, threads: int) -> Prepared:
    compiled = compile_cpu(deployed.float_onnx, deployed.in_shape, len(array), threads)
    return Prepared(openvino_runner(compiled, array), precision_of(compiled))


OPENVINO_FLOAT = register(Backend("openvino-float", prepare, openvino_engine))
