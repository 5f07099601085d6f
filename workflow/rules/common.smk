# The plan: every experiment and stage, resolved from the config by bnn (bnn/plan.py).
import json
import os

from snakemake.exceptions import WorkflowError

from bnn.errors import BnnError
from bnn.plan import Plan

try:
    PLAN = Plan(config)
except BnnError as error:
    raise WorkflowError(f"config: {error}") from None

RUN = "results/runs/{dataset}/{model}/{method}/seed{seed}/{stage}"
BNN_ENV = "../../envs/bnn.yaml"  # relative to the rule files


wildcard_constraints:
    dataset=r"[^/]+",
    model=r"[^/]+",
    method=r"[^/]+",
    seed=r"\d+",
    stage=r"[^/]+",


localrules:
    aggregate,
    figure_accuracy,


def stage_of(wildcards):
    return PLAN.stage(
        wildcards.dataset,
        wildcards.model,
        wildcards.method,
        wildcards.seed,
        wildcards.stage,
    )
