"""Binarization building blocks: estimators, scaling and binarizable layers."""

from bnn.nn.estimators import ESTIMATORS, build_estimator, sign
from bnn.nn.layers import (BinaryConv2d, BinaryLayer, BinaryLinear, binary_layers, configure_binary,
                           layer_states, set_layer_states, set_progress)
from bnn.nn.scaling import SCALINGS

__all__ = ["ESTIMATORS", "SCALINGS", "BinaryConv2d", "BinaryLayer", "BinaryLinear", "binary_layers",
           "build_estimator", "configure_binary", "layer_states", "set_layer_states", "set_progress", "sign"]
