# bnn-flow: binary neural network experiments, config -> trained models -> tables -> figures.
# Snakemake wires files; every rule calls a `bnn` command (see README, "Result contract").
from snakemake.utils import min_version

min_version("9.0")


configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/deploy.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        targets.report_files(PLAN),
        PLAN.sensitivity_files(),
        layout.README,
