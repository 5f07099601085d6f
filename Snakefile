# bnn-flow: binary neural network experiments, config -> trained models -> tables -> figures.
# Snakemake wires files; every rule calls a `bnn` command (see README, "Result contract").
from snakemake.utils import min_version

min_version("9.0")


configfile: f"{workflow.basedir}/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/tables/accuracy.csv",
        "results/tables/accuracy.html",
        "results/tables/summary.csv",
        "results/tables/summary.html",
        PLAN.figure_files(),
        PLAN.sensitivity_files(),
        "results/README.md",
