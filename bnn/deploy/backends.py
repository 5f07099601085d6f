"""The deploy backends by name, defined once (docs/deploy.md): every module that names one imports it here.

* ``TORCH_FLOAT``     the same architecture with every layer real, PyTorch eval (the plain-PyTorch reference)
* ``TORCH_BINARY``    the checkpoint as trained, PyTorch eval (±1 values in float convs; the verification's reference)
* ``OPENVINO_FLOAT``  the float twin in OpenVINO (the binary speed-up's reference: same engine, same graph)
* ``OPENVINO_BINARY`` the IR, W1/A1 layers as BinaryConvolution
* ``ONNXRUNTIME``     model.onnx in onnxruntime (W1/A1 layers as float convs on 0/1 inputs)
"""

TORCH_FLOAT, TORCH_BINARY = "torch-float", "torch-binary"
OPENVINO_FLOAT, OPENVINO_BINARY = "openvino-float", "openvino-binary"
ONNXRUNTIME = "onnxruntime"
BACKENDS = (TORCH_FLOAT, TORCH_BINARY, OPENVINO_FLOAT, OPENVINO_BINARY, ONNXRUNTIME)
DEPLOYED = (OPENVINO_BINARY, ONNXRUNTIME)  # the deployed files' backends: verified against TORCH_BINARY and gated
