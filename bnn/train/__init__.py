"""Training: one stage through the one loop (:func:`run_stage`); its parts, epoch loop, progress and flips."""

from bnn.train.run import COLUMNS, run_stage

__all__ = ["COLUMNS", "run_stage"]
