"""Inference latency: median milliseconds per call of each backend, measured side by side.

Each backend runs the same input batch with its own thread setting (torch.set_num_threads, OpenVINO's
``INFERENCE_NUM_THREADS``, onnxruntime's intra-op threads; one stream, inter-op 1). After one warm-up
call each, the backends take turns in ``ROUNDS`` blocks so that a busy machine slows them alike; each
block starts with an untimed call (the previous backend's worker threads may still be spinning). A
backend stops at ``repeats`` timed calls or once its calls took ``budget_s`` seconds (at least
``MIN_REPEATS``). The result is the median of its timed calls.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

ROUNDS = 5
MIN_REPEATS = 3
Runner = Callable[[], object]


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op threads set to ``threads`` inside the block, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def torch_runner(model: nn.Module, x: torch.Tensor) -> Runner:
    """One eval forward of ``model`` on ``x`` (call inside :func:`torch_threads`)."""

    def run():
        with torch.inference_mode():
            return model(x)

    return run


def openvino_runner(compiled, x: np.ndarray) -> Runner:
    """One synchronous inference of an OpenVINO compiled model on ``x``."""
    request = compiled.create_infer_request()
    return lambda: request.infer({0: x}, share_inputs=True)


def onnxruntime_session(path, threads: int):
    """An onnxruntime CPU session with ``threads`` intra-op threads, sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnxruntime_runner(session, x: np.ndarray) -> Runner:
    name = session.get_inputs()[0].name
    return lambda: session.run(None, {name: x})


def timed(run: Runner) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def median_latency(runners: dict[str, Runner], repeats: int, budget_s: float = 20.0) -> dict[str, float]:
    """Median ms per call of each runner, measured in interleaved blocks (module docstring)."""
    first = {name: timed(run) for name, run in runners.items()}  # warm-up (and the size of one call)
    target = {name: max(MIN_REPEATS, min(repeats, int(budget_s / max(first[name], 1e-6)))) for name in runners}
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for block in range(ROUNDS):
        for name, run in runners.items():
            share = math.ceil(target[name] * (block + 1) / ROUNDS) - len(samples[name])
            if share <= 0:
                continue
            run()
            samples[name] += [timed(run) for _ in range(share)]
    return {name: 1000.0 * statistics.median(times) for name, times in samples.items()}
