"""One real Snakemake run of the whole stage chain on a tiny config (CPU, offline)."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO, SMALL, TABLE, TINY_BASE, snakemake, without_timing

from bnn.deploy.cpu import binary_kernel_expected

METHODS = [
    "float",
    "binary",
    "adambnn",
    "sgdat",
    "iterative-forward",
    "iterative-reverse",
    "iterative-ascend",
    "iterative-descend",
]
FIGURES = [
    "accuracy",
    "comparison",
    "accuracy_vs_size",
    "accuracy_vs_speedup",
    "learning_curves",
    "iterative",
    "optimizers",
    "sensitivity",
]
TABLES = ["accuracy", "comparison", "summary", "inference"]


def iterative(order: str) -> dict:
    """A 4-epoch iterative recipe, one more layer binary each epoch (ascend/descend read the sensitivity table)."""
    weights = {"order": order, "epochs_per_layer": 1}
    if order in ("ascend", "descend"):
        weights["sensitivity"] = "sensitivity"
    schedule = {"weights": weights, "acts": "real", "layers": "all"}
    return {"epochs": 4, "stages": [{"name": "train", "schedule": schedule}]}


TINY = {
    **TINY_BASE,
    "train": {**TINY_BASE["train"], "progress": {"interval": 0.001}},  # a progress line after (almost) every batch
    "methods": [*METHODS, "sensitivity"],
    "models": ["mlp", "convnet"],
    "recipes": {
        "sensitivity": {"epochs": 2},
        **{f"iterative-{order}": iterative(order) for order in ("forward", "reverse", "ascend", "descend")},
    },
    "deploy": {"batch": [1], "repeats": 2},  # every evaluated run deployed, timed briefly
}
REQUIRED = [
    "dataset",
    "model",
    "method",
    "seed",
    "weight_bits",
    "act_bits",
    "top1",
    "top5",
    "test_loss",
    "epochs",
    "params",
    "binary_params",
    "train_seconds",
    "wall_seconds",
    "max_rss_mb",
]


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts per rule from the 'Job stats' table of a dry run."""
    assert result.returncode == 0, result.stderr[-2000:]
    counts = {}
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit() and fields[0] not in ("total", "all"):
            counts[fields[0]] = int(fields[1])
    return counts


@pytest.fixture(scope="module")
def workflow_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.mark.workflow
def test_dry_run_lists_the_stage_chain(tmp_path):
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    # per model: 8 recipes, adambnn has 2 stages; sensitivity: 3 layers each (mlp 32-32-10; convnet 8-16 + linear)
    assert planned_jobs(snakemake(tmp_path, "-n", "--quiet", "rules")) == {
        "prepare_data": 1,
        "train_stage": 2 * 9 + 3 + 3,
        "evaluate": 2 * 8,
        "deploy": 2 * 8,
        "sensitivity_table": 2,
        "table": len(TABLES),
        "results_readme": 1,
        "figure": len(FIGURES),
    }


@pytest.mark.workflow
def test_accuracy_table_has_every_run_with_its_bits(workflow_run):
    table = pd.read_csv(workflow_run / "results/tables/accuracy.csv")
    assert set(REQUIRED) <= set(table.columns)
    assert len(table) == 2 * len(METHODS) and set(table["method"]) == set(METHODS)
    assert not table.duplicated(["dataset", "model", "method", "seed"]).any()
    assert table["top1"].between(0, 100).all() and (table["top5"] >= table["top1"]).all()
    bits = {
        m: tuple(g[["weight_bits", "act_bits"]].drop_duplicates().itertuples(index=False))
        for m, g in table.groupby("method")
    }
    assert bits == {
        "float": ((32, 32),),
        "binary": ((1, 1),),
        "adambnn": ((1, 1),),
        "sgdat": ((1, 1),),
        **{m: ((1, 32),) for m in METHODS if m.startswith("iterative")},
    }
    binary = table[table["weight_bits"] == 1]
    assert (binary["binary_params"] > 0).all() and (table[table["method"] == "float"]["binary_params"] == 0).all()
    assert (table[table["method"] == "adambnn"]["epochs"] == 4).all()  # two stages of 2 epochs


@pytest.mark.workflow
def test_cost_columns_sum_the_stages_benchmarks(workflow_run):
    table = pd.read_csv(workflow_run / "results/tables/accuracy.csv").set_index(["model", "method"])
    assert (table["wall_seconds"] > 0).all() and (table["max_rss_mb"] > 50).all()  # torch alone is > 50 MB
    runs = workflow_run / "results/runs/digits/convnet/adambnn/seed0"
    stages = [pd.read_csv(runs / f"{stage}/benchmark.tsv", sep="\t").iloc[0] for stage in ("step1", "step2")]
    assert table.loc[("convnet", "adambnn"), "wall_seconds"] == pytest.approx(sum(s["s"] for s in stages), abs=0.01)
    assert table.loc[("convnet", "adambnn"), "max_rss_mb"] == pytest.approx(max(s["max_rss"] for s in stages), abs=0.01)


@pytest.mark.workflow
def test_parallel_run_equals_serial_run(workflow_run, serial_run):
    """--cores 2 (jobs side by side, TINY) and --cores 1 (SMALL) give the same numbers for the shared experiments."""
    parallel = without_timing(workflow_run / TABLE)
    serial = without_timing(serial_run / TABLE)
    shared = parallel[parallel["model"].isin(SMALL["models"]) & parallel["method"].isin(SMALL["methods"])]
    assert len(serial) == len(SMALL["methods"]) and len(shared) == len(serial)
    pd.testing.assert_frame_equal(shared.reset_index(drop=True), serial)


@pytest.mark.workflow
def test_every_run_folder_holds_the_contract(workflow_run):
    table = pd.read_csv(workflow_run / "results/tables/accuracy.csv")
    for row in table.itertuples():
        final = "step2" if row.method == "adambnn" else "train"
        run = workflow_run / f"results/runs/{row.dataset}/{row.model}/{row.method}/seed{row.seed}/{final}"
        for name in ("spec.yaml", "metrics.csv", "checkpoint.pt", "train.log", "eval.json", "benchmark.tsv"):
            assert (run / name).is_file(), run / name
        record = json.loads((run / "eval.json").read_text())
        assert record["binary_check"]["ok"] and record["top1"] == pytest.approx(row.top1)
        predictions = pd.read_csv(run / "predictions.csv")
        assert len(predictions) == record["test_images"] == row.test_images
        right = int((predictions["label"] == predictions["prediction"]).sum())
        assert right == record["test_correct"] and 100 * right / len(predictions) == pytest.approx(row.top1, abs=1e-3)
        assert row.top1_low < row.top1 < row.top1_high
    step1 = pd.read_csv(workflow_run / "results/runs/digits/mlp/adambnn/seed0/step1/metrics.csv")
    step2 = pd.read_csv(workflow_run / "results/runs/digits/mlp/adambnn/seed0/step2/metrics.csv")
    assert (step1["binary_weight_layers"] == 0).all() and (step1["binary_act_layers"] > 0).all()
    assert (step2["binary_weight_layers"] > 0).all()
    forward = pd.read_csv(workflow_run / "results/runs/digits/mlp/iterative-forward/seed0/train/metrics.csv")
    assert forward["binary_weight_layers"].tolist() == [1, 2, 3, 3]


@pytest.mark.workflow
def test_sensitivity_table_orders_ascend_and_descend(workflow_run):
    from bnn.config.schedule import Schedule

    base = workflow_run / "results/runs/digits/mlp"
    table = pd.read_csv(base / "sensitivity/seed0/sensitivity.csv")
    assert table["layer"].tolist() == [1, 2, 3] and (table["epochs"] == 2).all()
    assert table[["dataset", "model", "method", "seed"]].drop_duplicates().values.tolist() == [
        ["digits", "mlp", "sensitivity", 0]
    ]
    for k in (1, 2, 3):  # each row comes from the stage in which only that layer was binary
        layer_metrics = pd.read_csv(base / f"sensitivity/seed0/layer{k}/metrics.csv")
        assert table.loc[k - 1, "val_acc"] == pytest.approx(layer_metrics["val_acc"].iloc[-1])
        assert (layer_metrics["binary_weight_layers"] == 1).all()
    rule = {"order": "ascend", "epochs_per_layer": 1, "sensitivity": str(base / "sensitivity/seed0/sensitivity.csv")}
    order = Schedule.parse({"weights": rule, "layers": "all"}).weights.permutation(3, "k")
    first = int(table.sort_values(["val_acc", "layer"], ascending=[False, True])["layer"].iloc[0]) - 1
    assert order[0] == first
    ckpt = torch.load(base / "iterative-ascend/seed0/train/checkpoint.pt", weights_only=True)
    assert ckpt["layer_states"] == [[True, False]] * 3


@pytest.mark.workflow
def test_every_figure_is_a_png(workflow_run):
    for name in FIGURES:
        figure = workflow_run / f"results/figures/{name}.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 10_000, name


@pytest.mark.workflow
def test_summary_and_results_readme(workflow_run):
    accuracy = pd.read_csv(workflow_run / "results/tables/accuracy.csv")
    summary = pd.read_csv(workflow_run / "results/tables/summary.csv")
    assert len(summary) == 2 * len(METHODS) and (summary["seeds"] == 1).all()
    merged = summary.merge(accuracy, on=["dataset", "model", "method"])
    assert (merged["top1_mean"] == merged["top1"]).all() and (merged["arch_x"] == merged["arch_y"]).all()
    assert ((merged["top1_low_x"] == merged["top1_low_y"]) & (merged["top1_high_x"] == merged["top1_high_y"])).all()
    assert (workflow_run / "results/tables/summary.md").read_text().count("| digits |") == len(summary)
    compared = summary[summary["method"] != "binary"]  # config.yaml's compare: {baseline: binary}
    assert (compared["baseline"] == "binary").all() and (
        summary[summary["method"] == "binary"]["verdict"] == "baseline"
    ).all()
    assert compared["verdict"].isin(["better", "worse", "no evidence"]).all()
    assert ((compared["delta_low"] <= compared["delta"]) & (compared["delta"] <= compared["delta_high"])).all()
    assert (compared["p_holm"] >= compared["p_value"]).all()
    readme = (workflow_run / "results/README.md").read_text()
    assert all(f"`figures/{name}.png`" in readme for name in FIGURES) and "`tables/summary.csv`" in readme


@pytest.mark.workflow
def test_a_summary_p_value_recomputed_by_hand_from_two_prediction_files(workflow_run):
    from scipy.stats import binomtest

    runs = workflow_run / "results/runs/digits/convnet"
    ours, theirs = (pd.read_csv(runs / f"{method}/seed0/train/predictions.csv") for method in ("sgdat", "binary"))
    right_ours, right_theirs = ours["label"] == ours["prediction"], theirs["label"] == theirs["prediction"]
    only_ours, only_theirs = int((right_ours & ~right_theirs).sum()), int((~right_ours & right_theirs).sum())
    summary = pd.read_csv(workflow_run / "results/tables/summary.csv").set_index(["model", "method"])
    expected = binomtest(only_ours, only_ours + only_theirs).pvalue if only_ours + only_theirs else 1.0
    assert summary.loc[("convnet", "sgdat"), "p_value"] == pytest.approx(expected, rel=1e-12)
    comparison = pd.read_csv(workflow_run / "results/tables/comparison.csv").set_index(["model", "method"])
    assert (comparison.loc[("convnet", "sgdat"), ["method_only", "baseline_only"]] == [only_ours, only_theirs]).all()


@pytest.mark.workflow
def test_every_evaluated_run_is_deployed_and_measured(workflow_run):
    kernel = binary_kernel_expected()
    """The deploy rule ran bnn deploy on every final checkpoint: the inference table holds each run's backends, the
    compiled OpenVINO graph has one BinaryConvolution per W1/A1 conv and every backend agrees with PyTorch."""
    inference = pd.read_csv(workflow_run / "results/tables/inference.csv")
    runs = inference[["model", "method"]].drop_duplicates()
    assert len(runs) == 2 * len(METHODS) and (inference["batch"] == 1).all()
    assert set(inference["backend"]) == {
        "torch-float",
        "torch-binary",
        "openvino-float",
        "openvino-binary",
        "onnxruntime",
    }
    binary = inference[inference["backend"] == "openvino-binary"].set_index(["model", "method"])
    # a BinaryConvolution per W1/A1 layer (two for sign0; a binary Linear runs as a 1x1 one); others have none
    w1a1 = {"binary", "adambnn", "sgdat"}
    assert (binary["binary_convolutions"] >= binary["binary_layers"]).all()
    assert ((binary["binary_layers"] > 0) == binary.index.get_level_values("method").isin(w1a1)).all()
    # the binary speed-up (same engine) exists exactly where a binary kernel ran; the engine ratio everywhere
    assert (binary["speedup_vs_openvino_float"].notna() == binary["binary_kernel"]).all()
    assert (binary["binary_kernel"] == binary["binary_layers"].gt(0) & kernel).all()
    assert inference["speedup_vs_torch_float"].notna().all() and (inference["precision"] == "f32").all()
    verified = inference.dropna(subset=["agreement_pct"])
    assert len(verified) == 2 * len(METHODS) * 3 and (verified["agreement_pct"] == 100.0).all()
    for row in runs.itertuples():
        final = "step2" if row.method == "adambnn" else "train"
        deploy = workflow_run / f"results/runs/digits/{row.model}/{row.method}/seed0/{final}/deploy"
        assert all((deploy / name).stat().st_size > 0 for name in ("model.onnx", "model.xml", "model.bin"))
    summary = pd.read_csv(workflow_run / "results/tables/summary.csv").set_index("method")
    assert summary["torch_speedup_b1"].notna().all()
    assert (summary["binary_speedup_b1"].notna() == (summary.index.isin(w1a1) & kernel)).all()
    assert "binary × b1" in (workflow_run / "results/tables/summary.md").read_text()


def report_results(html: str) -> dict:
    """The ``results = {...}`` entries a Snakemake HTML report embeds (path -> caption, mime type, data URI)."""
    line = next(line for line in html.splitlines() if line.lstrip().startswith("var results = {"))
    return json.loads(line.split("=", 1)[1].strip().rstrip(";"))


@pytest.mark.workflow
def test_html_report_holds_every_table_and_figure_with_captions(workflow_run):
    result = snakemake(workflow_run, "--report", "results/report.html")
    assert result.returncode == 0, result.stderr[-2000:]
    entries = report_results((workflow_run / "results/report.html").read_text())
    expected = {
        **{f"results/figures/{name}.png": "image/png" for name in FIGURES},
        **{
            f"results/tables/{name}.{ext}": mime
            for name in TABLES
            for ext, mime in (("csv", "text/csv"), ("html", "text/html"))
        },
    }
    assert {path: entry["mime_type"] for path, entry in entries.items()} == expected
    for path, entry in entries.items():
        assert len(entry["caption"]) > 100 and entry["data_uri"].startswith(f"data:{expected[path]}"), path
    page = (workflow_run / "results/tables/accuracy.html").read_text()
    assert "<table" in page and "wall_seconds" in page and page.count("<tr>") == 2 * len(METHODS)  # body rows


@pytest.mark.workflow
def test_second_run_has_nothing_to_do(workflow_run):
    result = snakemake(workflow_run, "--cores", "2")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stderr + result.stdout


@pytest.mark.workflow
def test_changing_one_recipe_reruns_only_its_stages(workflow_run, tmp_path):
    changed = dict(TINY, recipes={**TINY["recipes"], "binary": {"epochs": 3}})
    overlay = tmp_path / "changed.yaml"
    overlay.write_text(yaml.safe_dump(changed))
    result = snakemake(workflow_run, "-n", "--quiet", "rules", configfile=overlay)
    assert planned_jobs(result) == {
        "train_stage": 2,
        "evaluate": 2,
        "deploy": 2,
        "table": len(TABLES),
        "results_readme": 1,
        "figure": len(FIGURES) - 2,
    }  # not iterative, sensitivity


@pytest.mark.workflow
def test_changing_a_speed_setting_reruns_nothing(workflow_run, tmp_path):
    faster = dict(
        TINY, train={**TINY["train"], "threads": 2, "workers": 3, "compile": False, "progress": {"interval": 60}}
    )
    overlay = tmp_path / "faster.yaml"
    overlay.write_text(yaml.safe_dump(faster))
    result = snakemake(workflow_run, "--cores", "2", configfile=overlay)
    assert result.returncode == 0 and "Nothing to be done" in result.stderr + result.stdout


@pytest.mark.workflow
def test_progress_lines_appear_in_a_stage_log(workflow_run):
    log = (workflow_run / "results/runs/digits/convnet/float/seed0/train/train.log").read_text()
    progress = [line for line in log.splitlines() if "] batch " in line and " img/s loss " in line]
    assert progress and progress[0].startswith("[digits/convnet/float/0/train epoch 1/2] batch 1/")


def test_lint_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--lint"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr, result.stdout[-2000:]
