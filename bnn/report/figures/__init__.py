"""The figures of the results: every module of this package registers one :class:`bnn.report.registry.Figure`
(imported here, so adding a figure is adding its module and its caption)."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
