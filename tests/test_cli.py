import json
import subprocess
import sys


def bnn(*args):
    return subprocess.run([sys.executable, "-m", "bnn", *args], capture_output=True, text=True)


def test_bad_input_gives_one_line_and_exit_code_2(stage_spec, tmp_path):
    spec = stage_spec(model={"arch": "resnet9000"})
    result = bnn("train", "--spec", json.dumps(spec.to_dict()), "--run-dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("bnn: error: spec.model.arch: unknown model 'resnet9000'")
    assert not (tmp_path / "checkpoint.pt").exists()


def test_plan_prints_the_stage_chain():
    from conftest import REPO

    result = bnn("plan", str(REPO / "config.yaml"))
    assert result.returncode == 0
    assert "results/runs/digits/mlp/adambnn/seed0/step2" in result.stdout
    assert "init <- results/runs/digits/mlp/adambnn/seed0/step1" in result.stdout
