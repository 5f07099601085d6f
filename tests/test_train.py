import csv
import dataclasses
import math
import pickle

import pytest
import torch

from bnn.errors import BnnError
from bnn.evaluation.evaluate import evaluate
from bnn.io import load_torch
from bnn.plan.experiments import Plan
from bnn.train.run import COLUMNS, run_stage


def read_metrics(run_dir) -> list[dict]:
    with open(run_dir / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_stage_writes_metrics_spec_and_plain_checkpoint(stage_spec, tmp_path):
    run_stage(stage_spec(), tmp_path)
    rows = read_metrics(tmp_path)
    assert list(rows[0]) == COLUMNS and [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert float(rows[0]["lr"]) > float(rows[-1]["lr"]) > 0  # cosine decay
    assert all(0 <= float(r["val_acc"]) <= 100 for r in rows)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert ckpt["layer_states"] == [[False, False]] * 3 and ckpt["lineage"][-1]["epochs"] == 3
    assert (tmp_path / "spec.yaml").is_file()


def test_same_spec_and_seed_give_identical_numbers(stage_spec, tmp_path):
    spec = stage_spec(schedule={"weights": "binary", "acts": "binary"})
    run_stage(spec, tmp_path / "a")
    run_stage(spec, tmp_path / "b")
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(read_metrics(tmp_path / "a")) == drop(read_metrics(tmp_path / "b"))


def test_default_float_teacher_reaches_90_percent(default_config, digits_dir, tmp_path):
    spec = Plan(default_config).final_stage("digits", "mlp", "float", 0).spec
    run_stage(dataclasses.replace(spec, data=str(digits_dir)), tmp_path)
    assert evaluate(tmp_path / "checkpoint.pt", digits_dir)["top1"] >= 90.0


def test_two_step_chain_inherits_every_parameter_and_ends_binary(stage_spec, digits_dir, tmp_path):
    run_stage(stage_spec(), tmp_path / "teacher")
    kd = {"loss": {"distributional": 1.0}, "teacher": str(tmp_path / "teacher" / "checkpoint.pt")}
    run_stage(stage_spec(schedule={"weights": "real", "acts": "binary"}, **kd), tmp_path / "step1")
    run_stage(
        stage_spec(
            schedule={"weights": "binary", "acts": "binary"},
            init=str(tmp_path / "step1/checkpoint.pt"),
            optimizer={"name": "sgd", "lr": 0.0},
            **kd,
        ),
        tmp_path / "step2",
    )
    step1 = load_torch(tmp_path / "step1/checkpoint.pt")
    step2 = load_torch(tmp_path / "step2/checkpoint.pt")
    for name, tensor in step1["state_dict"].items():
        if name.endswith("weight") or name.endswith("bias"):
            assert torch.equal(tensor, step2["state_dict"][name]), name  # lr 0: step 2 kept step 1's parameters
    assert [s["stage"] for s in step2["lineage"]] == ["train", "train"]
    result1, result2 = (
        evaluate(tmp_path / "step1/checkpoint.pt", digits_dir),
        evaluate(tmp_path / "step2/checkpoint.pt", digits_dir),
    )
    assert (result1["weight_bits"], result1["act_bits"]) == (32, 1)
    assert (result2["weight_bits"], result2["act_bits"]) == (1, 1)
    assert result2["binary_check"]["ok"] and result2["binary_params"] == 32 * 32
    assert result2["epochs"] == 6


def test_iterative_schedule_shows_in_metrics(stage_spec, tmp_path):
    spec = stage_spec(epochs=4, schedule={"weights": {"order": "forward", "epochs_per_layer": 1}, "layers": "all"})
    run_stage(spec, tmp_path)
    assert [int(r["binary_weight_layers"]) for r in read_metrics(tmp_path)] == [1, 2, 3, 3]
    assert all(int(r["binary_act_layers"]) == 0 for r in read_metrics(tmp_path))


def test_init_from_another_model_is_refused(stage_spec, tmp_path):
    run_stage(stage_spec(model={"arch": "convnet", "channels": [4, 8]}), tmp_path / "conv")
    with pytest.raises(BnnError, match="init: .* was trained as .*init from a stage of the same model"):
        run_stage(stage_spec(init=str(tmp_path / "conv/checkpoint.pt")), tmp_path / "mlp")


def test_kd_without_teacher_is_refused(stage_spec, tmp_path):
    with pytest.raises(BnnError, match=r"spec.teacher: loss \['distributional'\] needs a teacher"):
        run_stage(stage_spec(loss={"distributional": 1.0}), tmp_path)


class NotATensor:
    """A custom class: pickled, it is exactly what the weights_only unpickler must refuse."""


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoint_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "payload": NotATensor()}, path)
    with pytest.raises(BnnError, match="is not a plain-tensor torch file"):
        load_torch(path)
    path.write_bytes(pickle.dumps(NotATensor()))
    with pytest.raises(BnnError, match="is not a plain-tensor torch file"):
        load_torch(path)


def test_checkpoint_with_mismatched_tensors_gives_one_line(stage_spec, digits_dir, tmp_path):
    run_stage(stage_spec(epochs=1), tmp_path)
    ckpt = load_torch(tmp_path / "checkpoint.pt")
    ckpt["model"] = {"arch": "mlp", "hidden": [16, 32]}  # claims another width than its tensors have
    torch.save(ckpt, tmp_path / "wrong.pt")
    with pytest.raises(BnnError, match=r"wrong.pt: tensor shapes do not fit the model") as info:
        evaluate(tmp_path / "wrong.pt", digits_dir)
    assert "\n" not in str(info.value)
    torch.save({"format": "something-else"}, tmp_path / "foreign.pt")
    with pytest.raises(BnnError, match="is not a bnn checkpoint"):
        evaluate(tmp_path / "foreign.pt", digits_dir)


def test_sgdat_stage_trains_binary_weights_and_logs_flip_ratio(stage_spec, digits_dir, tmp_path):
    spec = stage_spec(
        epochs=3,
        schedule={"weights": "binary", "acts": "binary"},
        optimizer={
            "name": "split",
            "binary": {"name": "sgdat", "lr": 1e-3, "threshold": 1e-7},
            "real": {"name": "adam", "lr": 3e-3},
        },
        lr_schedule={"name": "constant"},
    )
    run_stage(spec, tmp_path)
    rows = read_metrics(tmp_path)
    ratios = [float(r["flip_ratio"]) for r in rows]
    assert all(0 < r < 1 for r in ratios)  # weights move, but not all of them
    ckpt = load_torch(tmp_path / "checkpoint.pt")
    latent = ckpt["state_dict"]["features.3.weight"]  # the inner binary layer holds ±1 itself
    assert set(latent.unique().tolist()) == {-1.0, 1.0}
    result = evaluate(tmp_path / "checkpoint.pt", digits_dir)
    assert result["binary_check"]["ok"] and result["top1"] > 30  # far above chance (10%) after 3 epochs


def test_float_stage_has_no_flip_ratio(stage_spec, tmp_path):
    run_stage(stage_spec(epochs=1), tmp_path)
    assert read_metrics(tmp_path)[0]["flip_ratio"] == ""


def test_loop_drives_the_ede_schedule_every_epoch(stage_spec, tmp_path, monkeypatch):
    from bnn.nn.estimators import ErrorDecay

    seen = []
    original = ErrorDecay.on_epoch_start

    def record(self, epoch, epochs):
        seen.append((epoch, epochs))
        original(self, epoch, epochs)

    monkeypatch.setattr(ErrorDecay, "on_epoch_start", record)
    spec = stage_spec(
        epochs=3,
        schedule={"weights": "binary", "acts": "binary"},
        binary={"weight_estimator": {"name": "ede", "t_min": 0.1}, "act_estimator": "ede", "scaling": "libra_pb"},
    )
    run_stage(spec, tmp_path)
    # 3 binarizable layers x 2 estimators, at the start of every epoch (the loop protocol, bnn/train/callbacks.py)
    assert sorted(set(seen)) == [(0, 3), (1, 3), (2, 3)] and len(seen) == 3 * 3 * 2
    # the last epoch's k, t are in the checkpoint: t = 10^(log10 t_min + (1 - log10 t_min) * 2 / 3)
    state = load_torch(tmp_path / "checkpoint.pt")["state_dict"]
    for key, t_min in (("features.3.weight_estimator", 0.1), ("features.3.act_estimator", 1e-3)):
        t = 10 ** (math.log10(t_min) + (1 - math.log10(t_min)) * 2 / 3)
        assert state[f"{key}.t"].item() == torch.tensor(t).item()
        assert state[f"{key}.k"].item() == torch.tensor(max(1.0, 1 / t)).item()
