"""bnn deploy end to end on a trained checkpoint, bnn table inference, bnn summary --measure, the speed-up report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bnn.cli import main
from bnn.deploy.backends import BACKENDS
from bnn.deploy.cpu import binary_kernel_expected
from bnn.deploy.measure import SUMMARY_BACKENDS
from bnn.deploy.rows import COLUMNS
from bnn.report.speedup import add_speedup, speedup_figure
from bnn.train.run import run_stage

HAS_KERNEL = binary_kernel_expected()


@pytest.fixture(scope="module")
def deployed_run(stage_spec, tmp_path_factory):
    """A 1-epoch W1/A1 convnet on digits, deployed at batches 1 and 4 with one thread."""
    run_dir = tmp_path_factory.mktemp("run")
    spec = stage_spec(
        model={"arch": "convnet", "channels": [8, 16]},
        epochs=1,
        schedule={"weights": "binary", "acts": "binary"},
        binary={"weight_estimator": "clipped_ste", "act_estimator": "clipped_ste", "scaling": "channel_mean"},
    )
    run_stage(spec, run_dir)
    out = run_dir / "deploy"
    argv = [
        "deploy",
        "--checkpoint",
        str(run_dir / "checkpoint.pt"),
        "--data",
        spec.data,
        "--out-dir",
        str(out),
        "--batch",
        "1",
        "--batch",
        "4",
        "--threads",
        "1",
        "--repeats",
        "3",
    ]
    assert main(argv) == 0
    return out


def test_deploy_writes_verified_rows_and_files(deployed_run):
    assert {p.name for p in deployed_run.iterdir()} >= {
        "model.onnx",
        "model.xml",
        "model.bin",
        "inference.csv",
        "deploy.json",
    }
    rows = pd.read_csv(deployed_run / "inference.csv")
    assert list(rows.columns) == COLUMNS
    assert sorted(zip(rows["batch"], rows["backend"])) == sorted((b, name) for b in (1, 4) for name in BACKENDS)
    assert set(rows[["dataset", "model", "method", "seed"]].astype(str).agg("/".join, axis=1)) == {"digits/mlp/test/0"}
    verified = rows[rows["backend"].isin(["torch-binary", "openvino-binary", "onnxruntime"])]
    assert (verified["agreement_pct"] >= 99.0).all()
    assert ((verified["top1"] - verified["torch_top1"]).abs() <= 1.0).all()
    assert (rows["latency_ms"] > 0).all() and rows["binary_layers"].eq(1).all()
    binary = rows[rows["backend"] == "openvino-binary"]
    record = json.loads((deployed_run / "deploy.json").read_text())
    assert [layer["kind"] for layer in record["layers"]] == ["W32/A32", "W1/A1", "W32/A32"]
    if HAS_KERNEL:
        assert binary["binary_convolutions"].eq(1).all() and binary["binary_kernel"].all()
        assert binary["layers_compiled"].eq("features.3=yes").all()
        assert record["layers"][1]["binary_convolution"] is True


def test_inference_table_concatenates_and_feeds_the_speedup_report(deployed_run, tmp_path):
    table_path = tmp_path / "tables" / "inference.csv"
    csv = str(deployed_run / "inference.csv")
    assert main(["table", "inference", "--out", str(table_path), csv, csv]) == 0
    table = pd.read_csv(table_path)
    assert list(table.columns) == COLUMNS and len(table) == 2 * len(BACKENDS) * 2
    accuracy = pd.DataFrame({"dataset": ["digits"], "model": ["mlp"], "method": ["test"], "seed": [0], "top1": [90.0]})
    summary = add_speedup(accuracy.drop(columns=["seed"]), table)
    ratios = {"binary_speedup_b1", "binary_speedup_b4", "torch_speedup_b1", "torch_speedup_b4"}
    assert ratios | {"agreement_pct"} <= set(summary.columns) and summary["torch_speedup_b1"].iloc[0] > 0
    assert summary["binary_speedup_b1"].notna().all() == HAS_KERNEL
    speedup_figure(accuracy, table, tmp_path / "figures" / "speedup.png")
    assert (tmp_path / "figures" / "speedup.png").stat().st_size > 1000


def test_inference_table_refuses_a_file_with_other_columns(tmp_path, capsys):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["table", "inference", "--out", str(tmp_path / "t.csv"), str(bad)]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_deploy_refuses_a_bad_batch(deployed_run, digits_dir, capsys):
    argv = [
        "deploy",
        "--checkpoint",
        str(deployed_run.parent / "checkpoint.pt"),
        "--data",
        str(digits_dir),
        "--out-dir",
        str(deployed_run.parent / "again"),
        "--batch",
        "0",
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == "bnn: error: --batch: 0 given; it must be a whole number >= 1"


def test_summary_measure_json(capsys):
    argv = [
        "summary",
        "--model",
        "convnet",
        "--dataset",
        "digits",
        "--option",
        "channels=[8,16,16]",
        "--measure",
        "--json",
        "--batch",
        "2",
        "--threads",
        "1",
        "--repeats",
        "3",
    ]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["model"] == "convnet" and record["batch"] == 2 and record["threads"] == 1
    assert list(record["latency_ms"]) == list(SUMMARY_BACKENDS) and all(v > 0 for v in record["latency_ms"].values())
    assert record["binary_layers"] == 2 and record["speedup_vs_torch_float"] > 0
    assert record["precision"] == dict.fromkeys(SUMMARY_BACKENDS, "f32")
    if HAS_KERNEL:
        assert record["binary_convolutions"] == 2 and record["binary_kernel"] is True
        assert record["speedup_vs_openvino_float"] > 0
    else:
        assert record["speedup_vs_openvino_float"] is None


def test_summary_measure_prints_latency_after_the_table(capsys):
    argv = [
        "summary",
        "--model",
        "mlp",
        "--dataset",
        "digits",
        "--option",
        "hidden=[32,32]",
        "--measure",
        "--threads",
        "1",
        "--repeats",
        "3",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Binary MACs (BOPs)" in out and "openvino-binary over torch-float" in out
    assert ("Binary speed-up (openvino-binary over openvino-float" in out) == HAS_KERNEL


def test_float_model_shows_no_binary_speedup(capsys):
    """A network without W1/A1 layers runs no binary kernel: it gets no binary speed-up, only the engine ratio."""
    argv = ["summary", "--model", "mlp", "--dataset", "digits", "--option", "hidden=[32,32]", "--binary", "none"]
    assert main([*argv, "--json", "--threads", "1", "--repeats", "3"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["binary_layers"] == 0 and record["binary_kernel"] is False
    assert record["speedup_vs_openvino_float"] is None and record["speedup_vs_torch_float"] > 0
