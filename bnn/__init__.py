"""bnn-flow: binary neural networks, trained and compared reproducibly.

Public API: layers in :mod:`bnn.nn`, models in :mod:`bnn.models`, one training loop in
:mod:`bnn.train`, evaluation in :mod:`bnn.evaluation` (``bnn evaluate``, the BNN summary), and
``bnn.load_exported`` (:mod:`bnn.deploy.packed`). The Snakemake workflow only wires files between the
``bnn`` commands defined in :mod:`bnn.cli`.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``bnn.load_exported``, imported on first use so that ``import bnn`` stays light (no torch)."""
    if name == "load_exported":
        from bnn.deploy.packed import load_exported

        return load_exported
    raise AttributeError(f"module 'bnn' has no attribute {name!r}")
