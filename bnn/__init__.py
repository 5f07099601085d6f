"""bnn-flow: binary neural networks, trained and compared reproducibly.

Public API: layers in :mod:`bnn.nn`, models in :mod:`bnn.models`, one training loop in
:mod:`bnn.train`, evaluation in :mod:`bnn.evaluate`. The Snakemake workflow only wires files
between the ``bnn`` commands defined in :mod:`bnn.cli`.
"""

__version__ = "0.1.0"
