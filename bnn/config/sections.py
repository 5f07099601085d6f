"""The config's sections beside the training settings: ``deploy`` and ``compare``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bnn.config.keys import check_keys, did_you_mean
from bnn.errors import BnnError


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
