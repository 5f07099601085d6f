"""The model registry itself, apart from the architectures that fill it."""

from bnn.registry import Registry

MODELS = Registry("model")
