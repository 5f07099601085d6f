"""Datasets, the results/data contract, and the loaders (in memory or streamed; ``make_loader`` picks)."""

from bnn.data.contract import Split, load_split, prepare, read_meta
from bnn.data.datasets import DATASETS
from bnn.data.loader import TensorLoader
from bnn.data.make import make_loader

__all__ = ["DATASETS", "Split", "TensorLoader", "load_split", "make_loader", "prepare", "read_meta"]
