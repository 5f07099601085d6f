"""The tables of the results: every module of this package registers one :class:`bnn.report.registry.Table`
(imported here, so adding a table is adding its module and its caption)."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
