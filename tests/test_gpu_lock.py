"""Our per-GPU file locks, with made-up device names (no GPU needed): concurrent holders get different
devices, a job waits while too few are free, and a killed holder frees its device."""

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack

import pytest
from conftest import REPO

from bnn.errors import BnnError
from bnn.train.gpu_lock import hold, visible_devices


def start_holder(count, devices, directory, log):
    """Take ``count`` devices in a thread; returns (names it got, event that releases them, thread)."""
    got, release = [], threading.Event()

    def run():
        with hold(count, devices, directory, poll=0.02, log=log) as lease:
            got.extend(lease.names)
            release.wait(10)

    thread = threading.Thread(target=run)
    thread.start()
    return got, release, thread


def wait_for(got: list, seconds: float = 5) -> list:
    deadline = time.monotonic() + seconds
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    return got


def refuse_to_wait(line):
    raise TimeoutError(line)


def test_two_jobs_get_different_gpus_and_a_third_waits_for_one(tmp_path):
    logs = []
    with ExitStack() as first, ExitStack() as second:
        a = first.enter_context(hold(1, ["0", "1"], tmp_path, log=logs.append))
        b = second.enter_context(hold(1, ["0", "1"], tmp_path, log=logs.append))
        assert sorted(a.names + b.names) == ["0", "1"] and a.indices != b.indices
        got, release, thread = start_holder(1, ["0", "1"], tmp_path, logs.append)
        time.sleep(0.3)
        assert got == [] and f"waiting for 1 free GPU(s) of 0, 1: all locked by other jobs ({tmp_path})" in logs
        second.close()  # job b ends
        assert wait_for(got) == b.names
        release.set()
        thread.join()


def test_a_multi_gpu_stage_takes_nproc_devices_and_waits_for_as_many(tmp_path):
    logs = []
    with hold(2, ["0", "1", "2"], tmp_path, log=logs.append) as lease:
        assert lease.names == ["0", "1"] and lease.indices == [0, 1]
        got, release, thread = start_holder(2, ["0", "1", "2"], tmp_path, logs.append)
        time.sleep(0.3)
        assert got == []  # only gpu2 is free
    assert wait_for(got) == ["0", "1"]
    release.set()
    thread.join()
    with (
        pytest.raises(
            BnnError, match=r"^device: the stage needs 4 GPU\(s\) \(one per distributed.nproc\), 3 visible \(0, 1, 2\)"
        ),
        hold(4, ["0", "1", "2"], tmp_path),
    ):
        pass


def test_a_killed_job_frees_its_gpu(tmp_path):
    code = (
        "from bnn.train.gpu_lock import hold\n"
        f"with hold(1, ['7'], {str(tmp_path)!r}):\n    import time; time.sleep(60)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    assert holder.stdout.readline().startswith("locked GPU(s) 7")
    with pytest.raises(TimeoutError, match="waiting for 1 free GPU"), hold(1, ["7"], tmp_path, log=refuse_to_wait):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with hold(1, ["7"], tmp_path) as lease:
        assert lease.names == ["7"] and (tmp_path / "gpu7.lock").read_text() == f"{os.getpid()}\n"


def test_visible_devices_are_the_cuda_visible_devices_entries(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert visible_devices() == ["2", "5"]
