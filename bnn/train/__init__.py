"""The training stage: one stage through the one loop (:func:`bnn.train.run.run_stage`), its parts, epoch loop,
progress and flips; the model it builds (``model``), its checkpoint and resume files, how it is launched (one
process, ranks under torchrun, a GPU lock) and its speed options (``accel``)."""
