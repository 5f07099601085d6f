"""The CPU a deploy ran on: its model name, the instruction-set flags that matter to the kernels, and
OpenVINO's CPU ``OPTIMIZATION_CAPABILITIES`` (``BIN`` is its binary-convolution support).

OpenVINO's BinaryConvolution has x86 JIT kernels for SSE4.1, AVX2 and AVX-512 (VPOPCNTDQ counts bits
in one instruction); whether a deploy's layers actually ran on it is the compiled graph's census
(bnn.deploy.openvino_graph.census), not these flags.
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

FLAGS = (
    "sse4_1",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vpopcntdq",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "asimddp",
    "sve",
)


def cpuinfo_fields(text: str) -> dict[str, str]:
    """The first value of each ``key : value`` line of /proc/cpuinfo text."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


@lru_cache(maxsize=1)
def cpu_record() -> dict[str, str]:
    """``cpu_model``, ``cpu_flags`` (the FLAGS present, space-separated) and ``openvino_capabilities``."""
    from bnn.deploy.openvino_graph import core

    path = Path("/proc/cpuinfo")
    fields = cpuinfo_fields(path.read_text()) if path.is_file() else {}
    present = set((fields.get("flags") or fields.get("Features") or "").split())
    model = fields.get("model name") or platform.processor() or platform.machine()
    capabilities = core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return {
        "cpu_model": model,
        "cpu_flags": " ".join(flag for flag in FLAGS if flag in present),
        "openvino_capabilities": " ".join(capabilities),
    }


def binary_kernel_expected() -> bool:
    """Whether OpenVINO should compile binary convolutions here: its CPU plugin reports ``BIN`` and the CPU
    has AVX2 (the census of a compiled graph is what counts; this is for saying why none ran)."""
    record = cpu_record()
    return "BIN" in record["openvino_capabilities"].split() and "avx2" in record["cpu_flags"].split()
