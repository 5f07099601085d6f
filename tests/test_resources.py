"""Cluster resources of a stage (bnn/resources.py) and the cost columns of accuracy.csv (bnn/report/tables.py)."""

import json

import pandas as pd
import pytest

from bnn import resources
from bnn.errors import BnnError
from bnn.report.tables import add_costs

CUDA = lambda: True  # noqa: E731
NO_CUDA = lambda: False  # noqa: E731


def spec(dataset="cifar10", epochs=10, **keys):
    return {"run": {"dataset": dataset}, "epochs": epochs, "device": "cpu", "threads": 1, **keys}


def test_gpus_follow_the_device_and_distributed_nproc():
    assert resources.gpus(spec(), CUDA) == 0
    assert resources.gpus(spec(device="cuda"), NO_CUDA) == 1
    assert resources.gpus(spec(device="cuda:0", distributed={"nproc": 4}), NO_CUDA) == 4
    assert resources.gpus(spec(device="auto", distributed={"nproc": 2}), CUDA) == 2
    assert resources.gpus(spec(device="auto", distributed={"nproc": 2}), NO_CUDA) == 0


def test_runtime_grows_with_epochs_and_data_and_shrinks_on_gpu_and_threads():
    small, large = resources.runtime_minutes(spec(epochs=10), NO_CUDA), resources.runtime_minutes(spec(epochs=100), NO_CUDA)
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


def experiment(root, method, stages, bench):
    """An experiment folder with a fake eval.json in its last stage and Snakemake benchmark rows (s, max_rss)."""
    base = root / method / "seed0"
    files = []
    for stage, (wall, rss) in zip(stages, bench):
        (base / stage).mkdir(parents=True)
        path = base / stage / "benchmark.tsv"
        path.write_text("s\th:m:s\tmax_rss\tmax_vms\n" f"{wall}\t0:00:01\t{rss}\t1.0\n")
        files.append(path)
    record = {"dataset": "digits", "model": "mlp", "method": method, "seed": 0}
    (base / stages[-1] / "eval.json").write_text(json.dumps(record))
    return base / stages[-1] / "eval.json", files


def test_costs_sum_wall_and_take_max_rss_per_experiment(tmp_path):
    two_step, two_bench = experiment(tmp_path, "adambnn", ["step1", "step2"], [(3.5, 700.0), (2.25, "-")])
    one, one_bench = experiment(tmp_path, "float", ["train"], [(1.0, 650.5)])
    table = pd.DataFrame({"method": ["float", "adambnn"]})
    costs = add_costs(table, [one, two_step], [*two_bench, *one_bench])
    assert costs.to_dict("list") == {"method": ["float", "adambnn"], "wall_seconds": [1.0, 5.75],
                                     "max_rss_mb": [650.5, 700.0]}
    with pytest.raises(BnnError, match="adambnn/seed0 has no benchmark.tsv"):
        add_costs(table, [one, two_step], one_bench)
    with pytest.raises(BnnError, match="adambnn/seed0 has no eval.json"):
        add_costs(table.iloc[:1], [one], [*one_bench, *two_bench])
    two_bench[0].write_text("not a benchmark\n")
    with pytest.raises(BnnError, match="step1/benchmark.tsv: not a Snakemake benchmark file"):
        add_costs(table, [one, two_step], [*two_bench, *one_bench])
