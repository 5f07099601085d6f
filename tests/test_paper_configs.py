"""The paper configs (configs/*.yaml): each plans its full job list without data, and runs end to end with real
Snakemake at smoke scale (``--config scale=smoke``), one accuracy.csv row per recipe x model of the smoke plan."""

import pandas as pd
import pytest
import yaml
from conftest import REPO
from test_workflow import planned_jobs, snakemake

from bnn.config.files import overlay
from bnn.plan.experiments import Plan

PAPERS = sorted((REPO / "configs").glob("*.yaml"))


def overlaid(default_config: dict, paper) -> dict:
    """config.yaml with the paper config over it, as snakemake's --configfile does (mappings merge, lists replace)."""
    return overlay(default_config, yaml.safe_load(paper.read_text()))


@pytest.mark.workflow
@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.stem)
def test_full_scale_dry_run_plans_every_job(paper, default_config, tmp_path):
    plan = Plan(overlaid(default_config, paper))
    jobs = planned_jobs(snakemake(tmp_path, "-n", "--quiet", "rules", configfile=paper))
    assert jobs["train_stage"] == len(plan.stages()) and jobs["evaluate"] == len(plan.eval_files())
    assert "digits" not in plan.datasets()  # the paper's data, not the embedded stand-in


@pytest.mark.workflow
@pytest.mark.parametrize("paper", PAPERS, ids=lambda p: p.stem)
def test_smoke_scale_runs_every_recipe_end_to_end(paper, default_config, tmp_path):
    config = overlaid(default_config, paper)
    smoke = Plan({**config, "scale": "smoke"})
    assert smoke.datasets() == ["digits"]
    # every recipe of the paper runs at smoke scale
    assert {e[2] for e in smoke.experiments} == set(config["methods"])
    overlays = [paper]
    if paper.stem != "sd_bnn":  # deploys are tested on the tiny config and on SD-BNN's convs here, not per paper
        (tmp_path / "no_deploy.yaml").write_text(yaml.safe_dump({"deploy": {"enabled": False}}))
        overlays.append(tmp_path / "no_deploy.yaml")
    result = snakemake(tmp_path, "--cores", "2", "--config", "scale=smoke", configfile=overlays)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pd.read_csv(tmp_path / "results" / "tables" / "accuracy.csv")
    expected = {(model, method) for _, model, method, _ in smoke.evaluated()}
    assert set(zip(table["model"], table["method"])) == expected and len(table) == len(expected)
    assert table["top1"].between(0, 100).all() and (table["dataset"] == "digits").all()
    assert all(stage.spec.epochs <= 5 for stage in smoke.stages())  # smoke: a few epochs per stage
    deployed = (tmp_path / "results" / "tables" / "inference.csv").is_file()
    assert deployed == (paper.stem == "sd_bnn")
