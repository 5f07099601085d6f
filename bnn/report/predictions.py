"""Per-example predictions of an evaluated run: ``predictions.csv`` beside its ``eval.json`` (docs/results.md,
"Statistics"), one row per test image in the test split's order: ``label`` and ``prediction`` (the top-1 class).

Two runs on the same test split pair image by image, which the paired comparisons need.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bnn.errors import BnnError
from bnn.io import write_frame
from bnn.plan import layout

COLUMNS = ["label", "prediction"]
RunKey = tuple[str, str, str, int]  # dataset, model, method, seed


@dataclass(frozen=True)
class Predictions:
    labels: np.ndarray
    predicted: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        return (self.labels == self.predicted).astype(np.int8)


def write_predictions(path: str | Path, labels, predicted) -> None:
    write_frame(path, pd.DataFrame({"label": np.asarray(labels), "prediction": np.asarray(predicted)}))


def read_predictions(path: str | Path) -> Predictions:
    frame = pd.read_csv(path)
    if list(frame.columns) != COLUMNS:
        raise BnnError(f"{path}: columns {list(frame.columns)}, expected {COLUMNS}; re-run bnn evaluate for this run")
    return Predictions(frame["label"].to_numpy(), frame["prediction"].to_numpy())


def run_predictions(files: list[str | Path]) -> dict[RunKey, Predictions]:
    """Each predictions file keyed by its run (dataset, model, method, seed), read from the eval.json beside it."""
    runs: dict[RunKey, Predictions] = {}
    for path in map(Path, files):
        record_path = path.parent / layout.EVAL
        if not record_path.is_file():
            raise BnnError(f"{path}: no {layout.EVAL} beside it; give the {layout.PREDICTIONS} of evaluated runs")
        record = json.loads(record_path.read_text())
        key = (record["dataset"], record["model"], record["method"], int(record["seed"]))
        if key in runs:
            raise BnnError(f"{path}: a second predictions file for {'/'.join(map(str, key))}")
        runs[key] = read_predictions(path)
    return runs


def correct_matrix(runs: dict[RunKey, Predictions], group: tuple[str, str, str], seeds: list[int]) -> np.ndarray:
    """Seeds x images of 1/0 (correct or not) for one dataset/model/method."""
    return np.stack([runs[(*group, seed)].correct for seed in seeds])


def check_paired(first: Predictions, second: Predictions, what: str) -> None:
    """Two runs pair image by image only on the same test split: same length, same labels in the same order."""
    if len(first.labels) != len(second.labels) or not np.array_equal(first.labels, second.labels):
        raise BnnError(
            f"{what}: the two runs were tested on different images (labels differ); evaluate both on the same "
            "prepared test split"
        )
