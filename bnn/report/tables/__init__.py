"""The tables of the results (each module registers one :class:`bnn.report.registry.Table`)."""

from bnn.report.tables import accuracy, summary  # noqa: F401
