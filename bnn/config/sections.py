"""The config's sections beside the training settings: ``deploy`` and ``compare``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bnn.config.fields import NAME, Boolean, Integer, ListOf, OneOf, Section, setting
from bnn.config.keys import did_you_mean
from bnn.errors import BnnError


@dataclass(frozen=True)
class DeploySettings(Section):
    """The config's ``deploy``: whether every evaluated run is deployed (``bnn deploy``: OpenVINO IR + ONNX,
    verified on the test split, timed), the batch sizes timed, the CPU threads of every backend and the timed
    calls per backend (what the deploys measure: changing one re-runs them)."""

    default_key: ClassVar[str] = "deploy"

    enabled: bool = setting(True, Boolean(), "deploy every evaluated run")
    batch: tuple[int, ...] = setting((1, 64), ListOf(Integer(1)), "batch sizes timed")
    threads: int = setting(1, Integer(1), "CPU threads of every backend")
    repeats: int = setting(20, Integer(1), "timed calls per backend after warm-up; the median is reported")


@dataclass(frozen=True)
class CompareSettings(Section):
    """The config's ``compare``: the baseline recipe(s) every other method is compared against, pairwise on the
    same dataset, model, seeds and test images (docs/results.md, "Statistics"). A baseline that is not run on a
    dataset/model gives no comparison there."""

    default_key: ClassVar[str] = "compare"

    baseline: tuple[str, ...] = setting(
        ("binary",),
        OneOf((NAME, ListOf(NAME)), "a recipe name or a list of them", "a recipe name or a non-empty list of them"),
        "the recipe(s) every method is compared against",
    )

    def __post_init__(self):
        names = (self.baseline,) if isinstance(self.baseline, str) else self.baseline
        object.__setattr__(self, "baseline", tuple(dict.fromkeys(names)))

    def check_recipes(self, recipes: list[str], key: str = "compare") -> None:
        """Every baseline names a recipe of the config."""
        for name in self.baseline:
            if name not in recipes:
                raise BnnError(
                    f"{key}.baseline: unknown recipe {name!r}{did_you_mean(name, recipes)}; "
                    f"use one of: {', '.join(sorted(recipes))}"
                )
