"""The SLURM profile on a real one-node SLURM cluster (tools/slurm-cluster.sh): every training stage is a SLURM job
and the numbers equal a local run's. Needs root and the Debian packages slurmctld slurmd slurm-client munge
(.ci/run installs them); skipped only when they are not installed."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, SMALL, TABLE, snakemake, without_timing

CLUSTER = REPO / "tools/slurm-cluster.sh"
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: .*/rule_(\w+)/(\S+)/\d+\.log\)")

pytestmark = [
    pytest.mark.workflow,
    pytest.mark.skipif(
        not (shutil.which("slurmctld") or Path("/usr/sbin/slurmctld").exists()) or not shutil.which("sbatch"),
        reason="SLURM not installed (apt-get install slurmctld slurmd slurm-client munge)",
    ),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm-state")
    env = {**os.environ, "STATE": str(state)}
    started = subprocess.run(
        [CLUSTER, "start"], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120
    )
    try:
        assert started.returncode == 0, started.stderr
        yield state
    finally:  # our private cluster: cancel whatever a failed run left queued, then stop the daemons we started
        subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, timeout=30)
        subprocess.run([CLUSTER, "stop"], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm-run")
    (workdir / "tiny.yaml").write_text(yaml.safe_dump(SMALL))
    start = time.monotonic()
    # --slurm-init-seconds-before-status-checks 1: the plugin backs off by 10 s per poll from there
    result = snakemake(
        workdir,
        "--profile",
        str(REPO / "profiles/slurm"),
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--slurm-keep-successful-logs",
        TABLE,
        timeout=900,
    )
    seconds = time.monotonic() - start
    log = result.stdout + result.stderr
    report = os.environ.get("BNN_SLURM_LOG")  # .ci/run prints this file after the suite
    if report:
        Path(report).write_text(f"{log}\nSLURM test: snakemake --profile profiles/slurm took {seconds:.0f} s\n")
    assert result.returncode == 0, log[-3000:]
    jobs = [match.groups() for match in SUBMITTED.finditer(log)]
    print(f"SLURM run: {seconds:.0f} s; jobs (SLURM id, rule, wildcards):", *jobs, sep="\n  ")  # shown by -rA
    return workdir, jobs


def test_every_training_stage_ran_as_a_slurm_job(slurm_run):
    workdir, jobs = slurm_run
    trained = {wildcards for _, rule, wildcards in jobs if rule == "train_stage"}
    assert trained == {"digits_mlp_float_0_train", "digits_mlp_adambnn_0_step1", "digits_mlp_adambnn_0_step2"}
    ids = [int(job_id) for job_id, _, _ in jobs]
    assert len(set(ids)) == len(ids)
    # each stage's SLURM log shows the job ran the stage's bnn command on the node
    for job_id, rule, wildcards in jobs:
        slurm_log = workdir / f".snakemake/slurm_logs/rule_{rule}/{wildcards}/{job_id}.log"
        if rule == "train_stage":
            assert "bnn train --spec" in slurm_log.read_text(), slurm_log
    # the cheap rules (table, figure) stayed local: no SLURM job for them
    assert {rule for _, rule, _ in jobs} == {"prepare_data", "train_stage", "evaluate"}


def test_slurm_numbers_equal_a_local_run(slurm_run, serial_run):
    workdir, _ = slurm_run
    on_slurm = without_timing(workdir / TABLE)
    pd.testing.assert_frame_equal(on_slurm, without_timing(serial_run / TABLE))
    costs = pd.read_csv(workdir / TABLE)
    assert (costs["wall_seconds"] > 0).all() and (costs["max_rss_mb"] > 0).all()  # benchmarks written on the node
