"""The figures of the results (each module registers one :class:`bnn.report.registry.Figure`)."""

from bnn.report.figures import (accuracy, accuracy_vs_size, iterative, learning_curves, optimizers,  # noqa: F401
                                sensitivity)
