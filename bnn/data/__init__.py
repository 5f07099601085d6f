"""Datasets, the results/data contract, and the in-memory loader."""

from bnn.data.contract import Split, load_split, prepare, read_meta
from bnn.data.datasets import DATASETS
from bnn.data.loader import TensorLoader

__all__ = ["DATASETS", "Split", "TensorLoader", "load_split", "prepare", "read_meta"]
