"""Summary tables and figures from real run files: tiny stages trained and evaluated on digits."""

import json

import pandas as pd
import pytest

from bnn.cli import main
from bnn.evaluation.evaluate import evaluate
from bnn.io import write_json
from bnn.plan import layout
from bnn.report.paper import paper_top1
from bnn.report.predictions import run_predictions
from bnn.report.tables.accuracy import build as accuracy_table
from bnn.report.tables.comparison import comparison_table
from bnn.report.tables.summary import render_markdown, summary_table
from bnn.train.run import run_stage

BINARY = {"weights": "binary", "acts": "binary"}
SPLIT = {
    "name": "split",
    "binary": {"name": "sgdat", "lr": 1.0e-4, "threshold": 1.0e-7},
    "real": {"name": "adam", "lr": 0.001},
}
# method -> stages (name, overrides); every experiment is evaluated from its last stage
EXPERIMENTS = {
    "float": [("train", {})],
    "binary": [("train", {"schedule": BINARY})],
    "twostep": [
        ("step1", {"schedule": {"weights": "real", "acts": "binary"}}),
        ("step2", {"schedule": BINARY, "init": "step1"}),
    ],
    "iterative": [
        (
            "train",
            {
                "epochs": 3,
                "schedule": {"weights": {"order": "forward", "epochs_per_layer": 1}, "acts": "real", "layers": "all"},
            },
        )
    ],
    "sgdat": [("train", {"schedule": BINARY, "optimizer": SPLIT, "lr_schedule": {"name": "constant"}})],
}
SEEDS = {"float": (0, 1), "binary": (0, 1)}


@pytest.fixture(scope="module")
def runs(stage_spec, digits_dir, tmp_path_factory):
    """results/ with run folders (metrics.csv, spec.yaml, eval.json) of every experiment, as the workflow lays out."""
    root = tmp_path_factory.mktemp("report")
    metrics, evals = {}, []
    for method, stages in EXPERIMENTS.items():
        for seed in SEEDS.get(method, (0,)):
            for name, overrides in stages:
                folder = root / layout.path(
                    layout.RUN, dataset="digits", model="mlp", method=method, seed=seed, stage=name
                )
                init = overrides.get("init") and str(folder.parent / overrides["init"] / "checkpoint.pt")
                spec = stage_spec(
                    **{
                        "epochs": 2,
                        **overrides,
                        "init": init,
                        "seed": seed,
                        "model": {"arch": "mlp", "hidden": [16, 16]},
                        "run": {"dataset": "digits", "model": "mlp", "method": method, "seed": seed, "stage": name},
                    }
                )
                run_stage(spec, folder)
                metrics.setdefault(method, []).append(folder / "metrics.csv")
            record = evaluate(folder / "checkpoint.pt", digits_dir, predictions=folder / "predictions.csv")
            write_json(folder / "eval.json", record)
            evals.append(folder / "eval.json")
    return root, metrics, evals


def predictions_of(evals) -> list:
    return [path.parent / "predictions.csv" for path in evals]


def test_summary_numbers_come_from_the_eval_files(runs):
    root, _, evals = runs
    records = [json.loads(path.read_text()) for path in evals]
    accuracy = accuracy_table(evals)
    summary = summary_table(accuracy, run_predictions(predictions_of(evals))).set_index("method")
    for method in EXPERIMENTS:
        mine = [r for r in records if r["method"] == method]
        top1 = pd.Series([r["top1"] for r in mine])
        row = summary.loc[method]
        assert row["seeds"] == len(mine) and row["arch"] == "mlp"
        assert row["top1_mean"] == pytest.approx(top1.mean(), abs=1e-4)
        assert row["train_seconds"] == pytest.approx(sum(r["train_seconds"] for r in mine) / len(mine), abs=1e-3)
        assert (row["weight_bits"], row["act_bits"]) == (mine[0]["weight_bits"], mine[0]["act_bits"])
        assert row["top1_low"] < row["top1_mean"] < row["top1_high"]
        if len(mine) > 1:
            assert row["top1_std"] == pytest.approx(top1.std(), abs=1e-4)
        else:  # one seed: the run's own Wilson interval, as in accuracy.csv
            assert pd.isna(row["top1_std"])
            run = accuracy[accuracy["method"] == method].iloc[0]
            assert (row["top1_low"], row["top1_high"]) == (run["top1_low"], run["top1_high"])
            assert run["test_images"] == 360 and run["top1_low"] < run["top1"] < run["top1_high"]
    assert summary["paper_top1"].isna().all()  # docs/methods.md publishes nothing on digits


def test_paper_column_filled_only_for_a_published_setting(runs):
    accuracy = accuracy_table(runs[2])
    published = accuracy["method"] == "binary"
    accuracy.loc[published, ["dataset", "arch", "method"]] = ["cifar10", "binarynet_vgg", "sgdat"]
    renamed = {
        (("cifar10", m, "sgdat", s) if r == "binary" else (d, m, r, s)): p
        for (d, m, r, s), p in run_predictions(predictions_of(runs[2])).items()
    }
    summary = summary_table(accuracy, renamed)
    row = summary[summary["method"] == "sgdat"].iloc[0]
    paper, source = paper_top1("cifar10", "binarynet_vgg", "sgdat")
    assert row["paper_top1"] == paper and "§2.7" in row["paper_source"] == source
    assert row["diff"] == pytest.approx(accuracy.loc[published, "top1"].mean() - paper, abs=1e-3)
    assert summary[summary["method"] != "sgdat"]["paper_top1"].isna().all()
    markdown = render_markdown(summary)
    top1 = f"{row['top1_mean']:.2f} [{row['top1_low']:.2f}, {row['top1_high']:.2f}]"
    assert top1 in markdown and f"{row['diff']:+.2f}" in markdown


def test_table_commands_write_csv_html_and_markdown(runs, tmp_path):
    assert main(["table", "accuracy", "--out", str(tmp_path / "accuracy.csv"), *map(str, runs[2])]) == 0
    assert len(pd.read_csv(tmp_path / "accuracy.csv")) == len(runs[2])
    predictions = list(map(str, predictions_of(runs[2])))
    comparison = str(tmp_path / "comparison.csv")
    assert main(["table", "comparison", "--out", comparison, *predictions]) == 0  # default baseline: binary
    assert set(pd.read_csv(comparison)["method"]) == set(EXPERIMENTS) - {"binary"}
    summary_args = [str(tmp_path / "accuracy.csv"), comparison, *predictions]
    assert main(["table", "summary", "--out", str(tmp_path / "summary.csv"), *summary_args]) == 0
    summary = pd.read_csv(tmp_path / "summary.csv").set_index("method")
    assert len(summary) == len(EXPERIMENTS) and summary.loc["binary", "verdict"] == "baseline"
    assert summary.drop(index="binary")["verdict"].isin(["better", "worse", "no evidence"]).all()
    assert (summary.drop(index="binary")["baseline"] == "binary").all()
    assert (tmp_path / "summary.md").read_text().count("| digits |") == len(EXPERIMENTS)
    assert "<table" in (tmp_path / "summary.html").read_text()
    assert (tmp_path / "accuracy.md").read_text().count("| digits |") == len(runs[2])
    assert main(["table", "acuracy", "--out", str(tmp_path / "x.csv"), str(tmp_path / "accuracy.csv")]) == 2


def figure_args(runs, sensitivity, tmp_path) -> dict[str, list[str]]:
    root, metrics, evals = runs
    table = tmp_path / "accuracy.csv"
    accuracy_table(evals).to_csv(table, index=False)
    files = {
        name: [str(p) for m in methods for p in metrics[m]]
        for name, methods in (
            ("learning_curves", list(EXPERIMENTS)),
            ("iterative", ["iterative"]),
            ("optimizers", ["binary", "sgdat"]),
        )
    }
    runs_predictions = run_predictions(predictions_of(evals))
    summary, comparison = tmp_path / "summary.csv", tmp_path / "comparison.csv"
    summary_table(accuracy_table(evals), runs_predictions).to_csv(summary, index=False)
    comparison_table(runs_predictions, ["binary"]).to_csv(comparison, index=False)
    return {
        "accuracy": [str(table), str(summary)],
        "comparison": [str(comparison)],
        "accuracy_vs_size": [str(table)],
        **files,
        "sensitivity": [str(sensitivity)],
    }


@pytest.mark.parametrize(
    "figure",
    ["accuracy", "comparison", "accuracy_vs_size", "learning_curves", "iterative", "optimizers", "sensitivity"],
)
def test_each_figure_command_draws_a_png(runs, figure, tmp_path):
    sensitivity = tmp_path / "results/runs/digits/mlp/sensitivity/seed0/sensitivity.csv"
    sensitivity.parent.mkdir(parents=True)
    sensitivity.write_text(
        "dataset,model,method,seed,layer,val_acc,best_val_acc,epochs\n"
        "digits,mlp,sensitivity,0,1,80.5,81.0,2\ndigits,mlp,sensitivity,0,2,85.0,85.0,2\n"
        "digits,mlp,sensitivity,0,3,60.2,61.0,2\n"
    )
    out = tmp_path / f"{figure}.png"
    assert main(["figure", figure, "--out", str(out), *figure_args(runs, sensitivity, tmp_path)[figure]]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_results_readme_describes_the_files_of_the_run(tmp_path):
    files = ["results/tables/summary.csv", "results/figures/iterative.png"]
    out = tmp_path / "README.md"
    assert main(["results-readme", "--out", str(out), *files]) == 0
    text = out.read_text()
    assert "| `tables/summary.csv` |" in text and "| `figures/iterative.png` |" in text
    assert "accuracy.png" not in text and "docs/results.md" in text
    assert main(["results-readme", "--out", str(out), "results/tables/other.csv"]) == 2
