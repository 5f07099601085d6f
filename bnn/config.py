"""The experiment config (``config.yaml`` and overlays): reading, merging, the ``scale`` overlay, and the
top-level keys. What a stage may set is :mod:`bnn.spec`; recipes are :mod:`bnn.recipes`.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bnn.errors import BnnError

TOP_LEVEL_KEYS = (
    "datasets",
    "models",
    "methods",
    "seeds",
    "scale",
    "scales",
    "data_root",
    "split",
    "dataset_options",
    "model_specs",
    "train",
    "recipes",
    "deploy",
    "compare",
)
REPLACED_WHOLE = ("loss",)  # a loss is a sum of terms: an override states the whole sum


def did_you_mean(name: object, known: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(mapping: dict, known: list[str] | tuple[str, ...], key: str, what: str = "key") -> None:
    """A one-line error for the first key of ``mapping`` not in ``known``, with a close-match hint."""
    for name in mapping:
        if name not in known:
            where = f"{key}.{name}" if key else str(name)
            raise BnnError(f"{where}: unknown {what}{did_you_mean(name, known)}; known: {', '.join(known)}")


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


def check_top_level(config: dict) -> dict:
    """``config`` after the scale overlay, its top-level keys checked (a misspelt key is never ignored)."""
    if not isinstance(config, dict):
        raise BnnError(f"config: expected a mapping of settings, got {type(config).__name__}")
    check_keys(config, TOP_LEVEL_KEYS, "", "top-level config key")
    return apply_scale(config)


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


def selected(config: dict, key: str) -> list:
    """A selection list (``datasets``, ``models``, ``methods``, ``seeds``): non-empty."""
    values = config.get(key)
    if not isinstance(values, list) or not values:
        raise BnnError(f"{key}: must be a non-empty list")
    return values


@dataclass(frozen=True)
class DeploySettings:
    """The config's ``deploy``: whether every evaluated run is deployed (``bnn deploy``: OpenVINO IR + ONNX,
    verified on the test split, timed), the batch sizes timed, the CPU threads of every backend and the timed
    calls per backend (what the deploys measure: changing one re-runs them)."""

    enabled: bool = True
    batch: tuple[int, ...] = (1, 64)
    threads: int = 1
    repeats: int = 20

    @classmethod
    def parse(cls, value: Any, key: str = "deploy") -> DeploySettings:
        value = {} if value is None else value
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be a mapping {{enabled, batch, threads, repeats}}")
        check_keys(value, ["enabled", "batch", "threads", "repeats"], key)
        settings = cls(**{k: tuple(v) if k == "batch" and isinstance(v, list) else v for k, v in value.items()})
        if not isinstance(settings.enabled, bool):
            raise BnnError(f"{key}.enabled: {settings.enabled!r} must be true or false")
        numbers = [*settings.batch, settings.threads, settings.repeats] if isinstance(settings.batch, tuple) else [0]
        if not settings.batch or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in numbers):
            raise BnnError(f"{key}: batch (a list), threads and repeats must be whole numbers >= 1")
        return settings


@dataclass(frozen=True)
class CompareSettings:
    """The config's ``compare``: the baseline recipe(s) every other method is compared against, pairwise on the
    same dataset, model, seeds and test images (docs/results.md, "Statistics"). A baseline that is not run on a
    dataset/model gives no comparison there."""

    baseline: tuple[str, ...] = ("binary",)

    @classmethod
    def parse(cls, value: Any, recipes: list[str], key: str = "compare") -> CompareSettings:
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise BnnError(f"{key}: {value!r} must be a mapping, e.g. {{baseline: binary}}")
        check_keys(value, ["baseline"], key)
        names = value.get("baseline", list(cls.baseline))
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise BnnError(f"{key}.baseline: {names!r} must be a recipe name or a non-empty list of them")
        for name in names:
            if name not in recipes:
                raise BnnError(
                    f"{key}.baseline: unknown recipe {name!r}{did_you_mean(name, recipes)}; "
                    f"use one of: {', '.join(sorted(recipes))}"
                )
        return cls(tuple(dict.fromkeys(names)))
