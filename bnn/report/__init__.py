"""Tables (pandas) and figures (matplotlib) of the results, as registries (:mod:`bnn.report.registry`)."""
