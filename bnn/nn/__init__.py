"""Binarization building blocks: estimators, scaling, binarizable layers and blocks."""

from bnn.nn.blocks import LearnableBias, RPReLU, RSign
from bnn.nn.estimators import ESTIMATORS, Estimator, build_estimator
from bnn.nn.layers import (
    BinaryConv2d,
    BinaryLayer,
    BinaryLinear,
    binary_layers,
    configure_binary,
    layer_states,
    set_layer_states,
)
from bnn.nn.scaling import SCALINGS
from bnn.nn.self_distribution import SDBinaryConv2d
from bnn.nn.signs import sign

__all__ = [
    "ESTIMATORS",
    "SCALINGS",
    "BinaryConv2d",
    "BinaryLayer",
    "BinaryLinear",
    "Estimator",
    "LearnableBias",
    "RPReLU",
    "RSign",
    "SDBinaryConv2d",
    "binary_layers",
    "build_estimator",
    "configure_binary",
    "layer_states",
    "set_layer_states",
    "sign",
]
