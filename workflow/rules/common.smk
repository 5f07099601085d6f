# Config checks and the plan: the config parsed once by bnn (bnn/config/experiment.py: the --config scale=NAME
# overlay merged, every key checked, the same one-line messages as bnn plan and bnn train), every experiment and
# stage resolved (bnn/plan/experiments.py), then the schema generated from bnn's declarations (bnn schema) checked
# as Snakemake workflows do. All run before any job starts. Every path comes from bnn/plan/layout.py.
import json
import os

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from bnn.plan import layout
from bnn.plan import resources as stage_resources
from bnn.config.experiment import ExperimentConfig
from bnn.config.schema_errors import schema_error_line
from bnn.errors import BnnError
from bnn.plan.experiments import Plan
from bnn.report import targets
from bnn.report.registry import FIGURES, TABLES

try:
    CONFIG = ExperimentConfig.parse(config)
    PLAN = Plan(CONFIG)
except BnnError as error:
    raise WorkflowError(f"config: {error}") from None

try:
    validate(CONFIG.source, "../schemas/config.schema.yaml")
except WorkflowError as error:
    # snakemake keeps jsonschema's ValidationError as the implicit context of its WorkflowError
    raise WorkflowError(f"config: {schema_error_line(error.__context__)}") from None

BNN_ENV = "../../envs/bnn.yaml"  # relative to the rule files


wildcard_constraints:
    dataset=r"[^/]+",
    model=r"[^/]+",
    method=r"[^/]+",
    seed=r"\d+",
    stage=r"[^/]+",
    figure="|".join(FIGURES.names()),
    table="|".join(TABLES.names()),


localrules:
    table,
    figure,
    results_readme,
    sensitivity_table,


def stage_of(wildcards):
    return PLAN.stage(
        wildcards.dataset,
        wildcards.model,
        wildcards.method,
        wildcards.seed,
        wildcards.stage,
    )


def caption(kind, name):
    """The caption of a registered table or figure: workflow/report/{kind}/{name}.rst."""
    with open(os.path.join(workflow.basedir, "workflow", "report", kind, f"{name}.rst")) as handle:
        return handle.read()
