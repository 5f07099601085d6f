"""BNN summary: hand-counted parameters, memory, MACs and BOPs; eval.json and accuracy.csv fields; the CLI."""

import subprocess
import sys

import pytest
import torch
from torch import nn

from bnn.cli import main
from bnn.evaluation.evaluate import evaluate
from bnn.evaluation.model_summary import model_summary as summarize
from bnn.nn import BinaryConv2d, BinaryLinear
from bnn.report.tables.accuracy import build as accuracy_table
from bnn.train.run import run_stage


def bnn(*args):
    return subprocess.run([sys.executable, "-m", "bnn", *args], capture_output=True, text=True)


class TinyMLP(nn.Module):
    """12 -> 8 -> BN -> 6 -> 3, plus a layer the forward pass never calls; ``last`` is registered before
    ``middle`` so that the row order can only come from the forward pass."""

    def __init__(self):
        super().__init__()
        self.first = BinaryLinear(12, 8, bias=False)  # 96 weights
        self.bn = nn.BatchNorm1d(8)  # 16
        self.last = BinaryLinear(6, 3)  # 18 + 3
        self.middle = BinaryLinear(8, 6)  # 48 + 6
        self.unused = nn.Linear(2, 2)  # 4 + 2

    def forward(self, x):
        return self.last(self.middle(self.bn(self.first(x.flatten(1)))))


class TinyConv(nn.Module):
    """(2, 6, 6) -> grouped float conv -> binary stride-2 conv -> BN -> linear."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(2, 4, 3, padding=1, groups=2)  # 4*1*9 + 4 = 40
        self.body = BinaryConv2d(4, 6, 3, stride=2, padding=1, bias=False)  # 6*4*9 = 216
        self.bn = nn.BatchNorm2d(6)  # 12
        self.head = BinaryLinear(6 * 3 * 3, 5)  # 270 + 5

    def forward(self, x):
        return self.head(self.bn(self.body(self.stem(x))).flatten(1))


def test_mlp_rows_and_totals_by_hand():
    model = TinyMLP()
    model.middle.set_binary(True, True)
    model.last.set_binary(True, False)
    summary = summarize(model, (3, 2, 2))
    assert [(r.name, r.output_shape, r.precision) for r in summary.rows] == [
        ("first", (8,), "32/32"),
        ("bn", (8,), ""),
        ("middle", (6,), "1/1"),
        ("last", (3,), "1/32"),
        ("unused", None, ""),
    ]
    assert [(r.binary_params, r.real_params) for r in summary.rows] == [(0, 96), (0, 16), (48, 6), (18, 3), (0, 6)]
    # MACs: first 12*8 and last 6*3 are 32-bit (last has real inputs); middle 8*6 is binary.
    assert [(r.macs, r.bops) for r in summary.rows] == [(96, 0), (0, 0), (0, 48), (18, 0), (0, 0)]
    assert summary.rows[2].packed_kib == (48 + 32 * 6) / 8192 and summary.rows[2].float_kib == 54 * 32 / 8192
    record = summary.record()
    assert record["params"] == 193 and record["binary_params"] == 66
    assert record["model_kib"] == round((66 + 32 * 127) / 8192, 3)
    assert record["float_kib"] == round(193 * 32 / 8192, 3)
    assert record["compression"] == round(193 * 32 / (66 + 32 * 127), 3)
    assert (record["macs"], record["bops"]) == (96 + 18, 48)
    assert (record["layers"], record["binary_weight_layers"], record["binary_act_layers"]) == (3, 2, 1)
    assert (record["weight_bits"], record["act_bits"]) == (1, 1)


@pytest.mark.parametrize(
    "acts, macs, bops",
    [
        (False, 1296 + 1944 + 270, 0),  # stem 6*6*4*(2/2)*9, body 3*3*6*4*9, head 54*5
        (True, 1296 + 270, 1944),
    ],
)
def test_conv_macs_follow_groups_stride_and_binary_inputs(acts, macs, bops):
    model = TinyConv()
    model.body.set_binary(True, acts)
    summary = summarize(model, (2, 6, 6))
    assert [r.output_shape for r in summary.rows] == [(4, 6, 6), (6, 3, 3), (6, 3, 3), (5,)]
    assert (summary.params, summary.total("binary_params")) == (40 + 216 + 12 + 275, 216)
    assert (summary.total("macs"), summary.total("bops")) == (macs, bops)
    assert summary.packed_kib == (216 + 32 * 327) / 8192
    assert summary.compression == 543 * 32 / (216 + 32 * 327)


def test_float_model_has_no_binary_parts_and_compression_one():
    summary = summarize(TinyConv(), (2, 6, 6))
    assert summary.total("binary_params") == summary.total("bops") == 0
    assert summary.compression == 1.0 and summary.record()["weight_bits"] == 32


def test_meta_device_gives_the_same_numbers_and_modes_and_hooks_are_restored():
    with torch.device("meta"):
        meta_model = TinyConv()
    model = TinyConv().train()
    model.bn.eval()
    for m in (meta_model, model):
        m.body.set_binary(True, True)
    assert summarize(meta_model, (2, 6, 6)) == summarize(model, (2, 6, 6))
    assert model.training and model.stem.training and not model.bn.training
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_eval_json_and_accuracy_table_carry_the_summary(stage_spec, digits_dir, tmp_path):
    import json

    run_stage(stage_spec(epochs=1, schedule={"weights": "binary", "acts": "binary"}), tmp_path)
    record = evaluate(tmp_path / "checkpoint.pt", digits_dir)
    # mlp [32, 32] on 8x8 digits: 64*32 + BN 64 + 32*32 (binary) + BN 64 + 32*10+10 + BN 20
    params, binary = 2048 + 64 + 1024 + 64 + 330 + 20, 1024
    assert {
        k: record[k]
        for k in (
            "params",
            "binary_params",
            "macs",
            "bops",
            "layers",
            "binary_weight_layers",
            "binary_act_layers",
            "weight_bits",
            "act_bits",
        )
    } == {
        "params": params,
        "binary_params": binary,
        "macs": 64 * 32 + 32 * 10,
        "bops": 32 * 32,
        "layers": 3,
        "binary_weight_layers": 1,
        "binary_act_layers": 1,
        "weight_bits": 1,
        "act_bits": 1,
    }
    assert record["model_kib"] == round((binary + 32 * (params - binary)) / 8192, 3)
    assert record["float_kib"] == round(32 * params / 8192, 3)
    assert record["compression"] == round(32 * params / (binary + 32 * (params - binary)), 3)
    (tmp_path / "eval.json").write_text(json.dumps(record))
    row = accuracy_table([tmp_path / "eval.json"]).iloc[0]
    assert row["model_kib"] == record["model_kib"] and (row["macs"], row["bops"]) == (2368, 1024)
    assert row.index[-6:].tolist() == ["compression", "macs", "bops", "arch", "wall_seconds", "max_rss_mb"]
    assert record["arch"] == row["arch"] == "mlp"


def test_cli_summary_of_a_registered_model_and_of_a_checkpoint(stage_spec, tmp_path):
    result = bnn("summary", "--model", "mlp", "--dataset", "digits", "--option", "hidden=[32, 32]")
    assert result.returncode == 0, result.stderr
    assert "3,550 (1,024 1-bit, 2,526 32-bit)" in result.stdout  # inner layer binary, as the default schedule
    assert "1,024 (30.2% of all MACs)" in result.stdout  # 1024 / (2368 + 1024)
    run_stage(stage_spec(epochs=1, schedule={"weights": "binary", "acts": "real"}), tmp_path)
    from_ckpt = bnn("summary", "--checkpoint", str(tmp_path / "checkpoint.pt"))
    assert from_ckpt.returncode == 0, from_ckpt.stderr
    assert "1/32" in from_ckpt.stdout and "3,550 (1,024 1-bit, 2,526 32-bit)" in from_ckpt.stdout


def test_cli_summary_of_any_input_shape_with_real_layers(capsys):
    assert (
        main(
            [
                "summary",
                "--model",
                "convnet",
                "--in-shape",
                "3,32,32",
                "--num-classes",
                "10",
                "--option",
                "channels=[8]",
                "--binary",
                "none",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "8x32x32" in out  # C, H, W
    assert "(0 1-bit, 82,182 32-bit)" in out  # 3*8*9 + BN 16 + 8*32*32*10+10 + BN 20


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "mlp"], "--dataset: missing"),
        (["--model", "mlp", "--dataset", "digits", "--binary", "weigths"], "--binary: 'weigths' is not one of"),
        (["--model", "mlp", "--dataset", "digits", "--option", "hidden"], "--option: 'hidden' is not key=value"),
        (["--model", "mlp", "--in-shape", "3,x,32", "--num-classes", "10"], "--in-shape: '3,x,32'"),
        (
            ["--model", "mlp", "--dataset", "digits", "--checkpoint", "c.pt"],
            "--model: the checkpoint defines the model",
        ),
    ],
)
def test_cli_summary_errors_are_one_line(args, message, capsys):
    assert main(["summary", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"bnn: error: {message}")
