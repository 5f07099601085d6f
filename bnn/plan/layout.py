"""The results folder: every path the workflow reads or writes (README, "Result contract").

Each path is a template whose ``{fields}`` are Snakemake wildcards in the rules (``workflow/rules/*.smk``
take every path from here) and are filled by :func:`path` in Python. Nothing else in the project types a
results path.
"""

from __future__ import annotations

RESULTS = "results"
DATA = f"{RESULTS}/data/{{dataset}}"
DATA_FILES = ("train.pt", "val.pt", "test.pt", "meta.json")
EXPERIMENT = f"{RESULTS}/runs/{{dataset}}/{{model}}/{{method}}/seed{{seed}}"
RUN = f"{EXPERIMENT}/{{stage}}"
SENSITIVITY = f"{EXPERIMENT}/sensitivity.csv"
SENSITIVITY_LOG = f"{EXPERIMENT}/sensitivity.log"
TABLE = f"{RESULTS}/tables/{{table}}"  # {table}.csv, .html, .md
FIGURE = f"{RESULTS}/figures/{{figure}}.png"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
README = f"{RESULTS}/README.md"

# files of a stage's run folder (RUN)
CHECKPOINT, METRICS, SPEC, TRAIN_LOG, BENCHMARK = (
    "checkpoint.pt",
    "metrics.csv",
    "spec.yaml",
    "train.log",
    "benchmark.tsv",
)
EVAL, EVAL_LOG = "eval.json", "evaluate.log"
PREDICTIONS = "predictions.csv"  # per test image: label and top-1 prediction (bnn.report.predictions)
DEPLOY, DEPLOY_LOG = "deploy", "deploy.log"  # bnn deploy's folder in a final stage's run folder, and its log
DEPLOY_ROWS, DEPLOY_RECORD = f"{DEPLOY}/inference.csv", f"{DEPLOY}/deploy.json"
DEPLOY_MODELS = tuple(f"{DEPLOY}/model.{suffix}" for suffix in ("onnx", "xml", "bin"))
RESUME = "resume.pt"  # not a declared output: it survives a killed job


def path(template: str, **fields: object) -> str:
    """``template`` with its fields filled, e.g. ``path(RUN, dataset="digits", ..., stage="train")``."""
    return template.format(**fields)


def in_run(run_fields: dict, name: str) -> str:
    """A file of a stage's run folder; ``run_fields``: dataset, model, method, seed, stage."""
    return f"{path(RUN, **run_fields)}/{name}"


def data_file(dataset: str, name: str) -> str:
    return f"{path(DATA, dataset=dataset)}/{name}"


def table(name: str, suffix: str = "csv") -> str:
    return f"{path(TABLE, table=name)}.{suffix}"


def figure(name: str) -> str:
    return path(FIGURE, figure=name)


def rule_log(rule: str, name: str = "") -> str:
    """The log of a rule's job, ``results/logs/{rule}[/{name}].log``."""
    return f"{LOGS}/{rule}/{name}.log" if name else f"{LOGS}/{rule}.log"
