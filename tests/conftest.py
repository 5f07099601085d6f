import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bnn.config.spec import StageSpec
from bnn.data import prepare

REPO = Path(__file__).resolve().parents[1]
# tiny models and 2 epochs, shared by the workflow overlays of the tests
TINY_BASE = {
    "model_specs": {"mlp": {"arch": "mlp", "hidden": [32, 32]}, "convnet": {"arch": "convnet", "channels": [8, 16]}},
    "train": {"epochs": 2},
}
# a few experiments (a two-stage recipe among them) for the runs compared across executors
SMALL = {**TINY_BASE, "methods": ["float", "adambnn"], "models": ["mlp"]}
TABLE = "results/tables/accuracy.csv"
TIMING_COLUMNS = ["train_seconds", "wall_seconds", "max_rss_mb"]


def snakemake_command(workdir: Path, *args: str, configfile: Path | list[Path] | None = None) -> list[str]:
    """The command line of a real snakemake run of this repository's workflow in ``workdir``; ``configfile``: one
    overlay of config.yaml or several, later ones over earlier ones (default ``workdir/tiny.yaml``)."""
    files = configfile if isinstance(configfile, list) else [configfile or workdir / "tiny.yaml"]
    workflow = ["-s", str(REPO / "Snakefile"), "-d", str(workdir), "--configfile", *map(str, files)]
    return [sys.executable, "-m", "snakemake", *workflow, *args]


def snakemake_env() -> dict:
    """This environment with the interpreter's folder first on PATH (the rules call ``bnn``)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def snakemake(
    workdir: Path, *args: str, configfile: Path | list[Path] | None = None, timeout: int = 900
) -> subprocess.CompletedProcess:
    """A real snakemake run (stdin closed, hard timeout)."""
    return subprocess.run(
        snakemake_command(workdir, *args, configfile=configfile),
        capture_output=True,
        text=True,
        env=snakemake_env(),
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def changed(config: dict, path: list, value) -> dict:
    """A deep copy of ``config`` with the entry at ``path`` (keys and list indices) set to ``value``."""
    config = copy.deepcopy(config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def without_timing(table_path: Path):
    """accuracy.csv without the columns that measure time or memory (they differ between runs)."""
    import pandas as pd

    return pd.read_csv(table_path).drop(columns=TIMING_COLUMNS)


@pytest.fixture(scope="session")
def serial_run(tmp_path_factory) -> Path:
    """SMALL run up to accuracy.csv with --cores 1: one job at a time, the reference for parallel and SLURM runs."""
    workdir = tmp_path_factory.mktemp("serial")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(SMALL))
    result = snakemake(workdir, "--cores", "1", TABLE)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


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
    """A small resolved stage spec (StageSpec) on the prepared digits; keyword overrides replace top-level
    keys of its mapping (``spec.yaml`` form)."""

    def make(**overrides) -> StageSpec:
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
            "loss": {"ce": 1.0},
            "binary": {"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "none"},
            "schedule": {"weights": "real", "acts": "real", "layers": "inner"},
        }
        spec.update(overrides)
        return StageSpec.parse(spec)

    return make
