"""The experiment config files (``config.yaml`` and overlays): reading, stacking, merging, the ``scale`` overlay.
What every key may hold is :mod:`bnn.config.experiment` and :mod:`bnn.config.spec`; recipes are
:mod:`bnn.config.recipes`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from bnn.config.keys import did_you_mean
from bnn.errors import BnnError

REPLACED_WHOLE = ("loss",)  # a loss is a sum of terms: an override states the whole sum


def _deep_merge(base: Any, override: Any, components: bool) -> Any:
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    if components and "name" in override and override["name"] != base.get("name"):
        return copy.deepcopy(override)
    merged = copy.deepcopy(base)
    for key, value in override.items():
        whole = key not in merged or (components and key in REPLACED_WHOLE)
        merged[key] = copy.deepcopy(value) if whole else _deep_merge(merged[key], value, components)
    return merged


def merge(base: Any, override: Any) -> Any:
    """Settings layered ``train`` -> recipe -> stage: mappings merge, everything else is replaced. A mapping
    whose ``name`` changes replaces instead of merging (``optimizer: {name: sgd}`` drops Adam's options), and a
    ``loss`` is replaced whole (an override states the whole weighted sum)."""
    return _deep_merge(base, override, components=True)


def overlay(base: Any, override: Any) -> Any:
    """Config files stacked as ``snakemake --configfile`` stacks them: mappings merge, everything else is
    replaced (without :func:`merge`'s ``name`` and ``loss`` rules)."""
    return _deep_merge(base, override, components=False)


def apply_scale(config: dict) -> dict:
    """The config with ``scales[scale]`` merged over it when ``scale`` is set (the paper configs' ``smoke``
    overlay: mappings merge, lists replace); the config itself otherwise."""
    name = config.get("scale")
    if name is None:
        return config
    scales = config.get("scales") or {}
    if name not in scales:
        raise BnnError(
            f"scale: {name!r} is not defined in scales{did_you_mean(name, list(scales))}; known: "
            f"{', '.join(sorted(scales)) or 'none'}; drop --config scale=... or add it to scales"
        )
    return merge(config, scales[name])


def read_configs(paths: list[str | Path]) -> dict:
    """Config files stacked in order (later files overlay earlier ones), as ``snakemake --configfile`` does."""
    config: dict = {}
    for path in paths:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise BnnError(f"config file {path}: {error.strerror}; give an existing YAML file") from None
        config = overlay(config, yaml.safe_load(text) or {})
    return config
