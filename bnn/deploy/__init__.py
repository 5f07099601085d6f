"""Deploy: a trained BNN exported to OpenVINO IR (x86 BinaryConvolution kernels) and plain ONNX, exact or
refused, verified against PyTorch, gated and timed (docs/deploy.md).

Modules, one concept each:

* ``mapping``        what each layer becomes (W1/A1, W1/A32, W32/A1, W32/A32) and the one-line refusals
* ``twin``           the deploy twin: the model in plain torch ops, binary layers as input bits + ±1 convs
                     (sign0 as two)
* ``onnx_export``    the twin as plain ONNX, binary convs named after their layers
* ``openvino_graph`` input bits as FakeQuantize(levels=2), channels padded to a multiple of 8, IR files with
                     their precision, CPU compile, BinaryConvolution census
* ``artifacts``      a model's deployed files (model.onnx, model.xml/.bin, the float twin)
* ``verify``         top-1, agreement and logit differences against PyTorch per backend and batch; the gate
* ``locate``         a refused deploy's first wrong layer (binary-conv counts against the twin's)
* ``backends``       the five backends, one module each, registered by name
* ``latency``        median latency per backend, side by side, threads set per backend
* ``measure``        the backends at one batch and thread count, the speed-ups; ``bnn summary --measure``
* ``cpu``            CPU model, instruction-set flags and OpenVINO's capabilities
* ``rows``           the deploy rows (inference.csv) and their concatenation
* ``run``            ``bnn deploy``: checkpoint -> files, verification, latency rows
"""

from bnn.deploy.backends import BACKENDS
from bnn.deploy.measure import measure_model
from bnn.deploy.rows import COLUMNS, inference_table
from bnn.deploy.run import deploy

__all__ = ["BACKENDS", "COLUMNS", "deploy", "inference_table", "measure_model"]
