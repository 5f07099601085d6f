"""Cluster resources of a stage (bnn/plan/resources.py) and the cost columns of accuracy.csv (bnn/report/costs.py)."""

import pytest

from bnn.config.spec import StageSpec
from bnn.errors import BnnError
from bnn.plan import resources
from bnn.report.costs import run_cost

CUDA = lambda: True  # noqa: E731
NO_CUDA = lambda: False  # noqa: E731


def spec(dataset="cifar10", epochs=10, **keys):
    run = {"dataset": dataset, "model": "m", "method": "float", "seed": 0, "stage": "train"}
    return StageSpec.parse(
        {
            "run": run,
            "data": "d",
            "model": {"arch": "mlp"},
            "epochs": epochs,
            "batch_size": 64,
            "device": "cpu",
            "threads": 1,
            **keys,
        }
    )


def test_gpus_follow_the_device_and_distributed_nproc():
    assert resources.gpus(spec(), CUDA) == 0
    assert resources.gpus(spec(device="cuda"), NO_CUDA) == 1
    assert resources.gpus(spec(device="cuda:0", distributed={"nproc": 4}), NO_CUDA) == 4
    assert resources.gpus(spec(device="auto", distributed={"nproc": 2}), CUDA) == 2
    assert resources.gpus(spec(device="auto", distributed={"nproc": 2}), NO_CUDA) == 0


def test_runtime_grows_with_epochs_and_data_and_shrinks_on_gpu_and_threads():
    small, large = (
        resources.runtime_minutes(spec(epochs=10), NO_CUDA),
        resources.runtime_minutes(spec(epochs=100), NO_CUDA),
    )
    assert large > 5 * small
    # 100 epochs x 50000 x 3072 values x 2e-6 s, + 120 s start-up, x 2 safety
    assert large == -(-2 * (120 + 100 * 50000 * 3072 * 2e-6) // 60)
    assert resources.runtime_minutes(spec(epochs=100, device="cuda")) < large / 10
    assert resources.runtime_minutes(spec(epochs=100, threads=4), NO_CUDA) < large / 3
    assert resources.runtime_minutes(spec("digits", epochs=2), NO_CUDA) == 5  # start-up dominates


def test_memory_and_cpus():
    assert resources.mem_mb(spec("digits")) == resources.BASE_MEM_MB + 1  # 1437 x 64 values x 2 bytes
    assert resources.mem_mb(spec("cifar10")) == resources.BASE_MEM_MB + 308  # 50000 x 3072 x 2 bytes
    assert resources.mem_mb(spec("image_folder")) > resources.mem_mb(spec("cifar10"))  # 10000 x 224 x 224 x 3
    assert resources.mem_mb(spec("imagenet")) == resources.BASE_MEM_MB + resources.STREAM_MEM_MB  # streams
    assert resources.cpus(spec(threads=3)) == 3
    assert resources.cpus(spec(threads=3, distributed={"nproc": 2})) == 6


def test_speed_settings_travel_apart_from_what_a_stage_computes():
    fast = spec(workers=4, compile=True, progress={"interval": 5})
    assert resources.speed(fast) == {"workers": 4, "compile": True, "progress": {"interval": 5.0}}
    assert fast.result_dict() == spec(threads=8).result_dict()  # speed keys never change what a stage computes


def benchmark(path, wall, rss):
    """A Snakemake benchmark.tsv row (s, max_rss) as Snakemake writes it."""
    path.write_text(f"s\th:m:s\tmax_rss\tmax_vms\n{wall}\t0:00:01\t{rss}\t1.0\n")
    return path


def test_a_run_costs_its_stages_wall_sum_and_largest_rss(tmp_path):
    step1, step2 = benchmark(tmp_path / "a.tsv", 3.5, 700.0), benchmark(tmp_path / "b.tsv", 2.25, "-")
    assert run_cost([step1, step2]) == {"wall_seconds": 5.75, "max_rss_mb": 700.0}
    assert run_cost([step2]) == {"wall_seconds": 2.25, "max_rss_mb": None}  # too short to measure
    assert run_cost([]) == {"wall_seconds": None, "max_rss_mb": None}  # bnn evaluate by hand, no benchmarks
    (tmp_path / "bad.tsv").write_text("not a benchmark\n")
    with pytest.raises(BnnError, match="bad.tsv: not a Snakemake benchmark file"):
        run_cost([step1, tmp_path / "bad.tsv"])
