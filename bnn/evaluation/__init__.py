"""Evaluation of a trained stage: the one scoring loop (``scoring``), ``bnn evaluate`` (``evaluate``: eval.json,
the binary check, predictions.csv) and the larq-style model summary (``model_summary``)."""
