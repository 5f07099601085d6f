from pathlib import Path

import pytest
import yaml

from bnn.data import prepare

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data") / "digits"
    prepare("digits", out, split_seed=0, val_size=0.15)
    return out


@pytest.fixture(scope="session")
def stage_spec(digits_dir):
    """A small resolved stage spec on the prepared digits; keyword overrides replace top-level keys."""

    def make(**overrides) -> dict:
        spec = {
            "run": {"dataset": "digits", "model": "mlp", "method": "test", "seed": 0, "stage": "train"},
            "seed": 0,
            "data": str(digits_dir),
            "model": {"arch": "mlp", "hidden": [32, 32]},
            "init": None,
            "teacher": None,
            "epochs": 3,
            "batch_size": 64,
            "device": "cpu",
            "threads": 1,
            "optimizer": {"name": "adam", "lr": 0.003},
            "lr_schedule": {"name": "cosine"},
            "loss": {"name": "ce"},
            "binary": {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "none"},
            "schedule": {"weights": "real", "acts": "real", "layers": "inner"},
        }
        spec.update(overrides)
        return spec

    return make
