"""``openvino-binary``: ``model.xml`` on the CPU, its W1/A1 layers as x86 BinaryConvolution kernels; the compiled
graph's census says which layers ran on the kernel."""

from bnn.deploy.backends.base import Backend, Prepared, openvino_engine, register
from bnn.deploy.latency import openvino_runner
from bnn.deploy.openvino_graph import census, compile_cpu, precision_of


def prepare(deployed, x, array, threads: int) -> Prepared:
    compiled = compile_cpu(deployed.ir, deployed.in_shape, len(array), threads)
    return Prepared(openvino_runner(compiled, array), precision_of(compiled), census(compiled, deployed.records))


OPENVINO_BINARY = register(Backend("openvino-binary", prepare, openvino_engine, deployed=True))
