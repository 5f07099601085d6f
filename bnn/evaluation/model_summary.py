"""BNN summary, like larq's ``lq.models.summary``: per layer and in total, 1-bit vs 32-bit parameters,
packed vs float memory, 32-bit vs binary multiply-accumulates, and the compression ratio.

Conventions (larq ``larq/models.py``, except where noted):

* Rows are the modules that own parameters, in the order one batch-1 forward pass (eval mode, no
  grad) first calls them; modules the forward pass never calls come last, without an output shape.
* A parameter is 1-bit when it is the ``weight`` of a binarizable layer whose ``binary_weights`` is
  on; every other parameter (biases, BatchNorm, learnable scales, float layers) is 32-bit. Buffers
  (BatchNorm running statistics) are not counted.
* Memory: packed = 1 bit per 1-bit parameter + 32 bits per 32-bit parameter; float = 32 bits each;
  1 KiB = 8·1024 bits (larq's "kB"). ``compression`` = float / packed (larq prints packed / float).
* MACs are counted for convolutions, ``out_h·out_w·C_out·(C_in/groups)·kh·kw``, and linear layers,
  ``in·out``, per image. Like larq ("the precision of a MAC operation is defined as the maximum
  bitwidth of its inputs"), a MAC is binary (a BOP: XNOR + popcount) only when its layer has binary
  weights *and* binary input activations; binary weights with real inputs are 32-bit MACs.
  ``macs`` counts the 32-bit MACs and ``bops`` the binary ones, so all MACs = macs + bops.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from bnn.nn import BinaryLayer, binary_layers

MAC_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def kib(bits: int) -> float:
    return bits / 8 / 1024


@dataclass(frozen=True)
class LayerRow:
    """One module with parameters; ``output_shape`` excludes the batch dimension (None: never called)."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    precision: str  # "W/A" bits of a binarizable layer, e.g. "1/1", "1/32", "32/32"; "" for other modules
    binary_params: int
    real_params: int
    macs: int
    bops: int

    @property
    def packed_kib(self) -> float:
        return kib(self.binary_params + 32 * self.real_params)

    @property
    def float_kib(self) -> float:
        return kib(32 * (self.binary_params + self.real_params))


@dataclass(frozen=True)
class Summary:
    rows: tuple[LayerRow, ...]
    layers: int
    binary_weight_layers: int
    binary_act_layers: int

    def total(self, field: str) -> int:
        return sum(getattr(row, field) for row in self.rows)

    @property
    def params(self) -> int:
        return self.total("binary_params") + self.total("real_params")

    @property
    def packed_kib(self) -> float:
        return kib(self.total("binary_params") + 32 * self.total("real_params"))

    @property
    def float_kib(self) -> float:
        return kib(32 * self.params)

    @property
    def compression(self) -> float:
        return self.float_kib / self.packed_kib if self.packed_kib else 1.0

    def record(self) -> dict:
        """The size fields of eval.json (``model_kib`` is the packed size)."""
        return {
            "params": self.params,
            "binary_params": self.total("binary_params"),
            "model_kib": round(self.packed_kib, 3),
            "float_kib": round(self.float_kib, 3),
            "compression": round(self.compression, 3),
            "macs": self.total("macs"),
            "bops": self.total("bops"),
            "layers": self.layers,
            "binary_weight_layers": self.binary_weight_layers,
            "binary_act_layers": self.binary_act_layers,
            "weight_bits": 1 if self.binary_weight_layers else 32,
            "act_bits": 1 if self.binary_act_layers else 32,
        }


def precision(module: nn.Module) -> str:
    if not isinstance(module, BinaryLayer):
        return ""
    return f"{1 if module.binary_weights else 32}/{1 if module.binary_acts else 32}"


def mac_count(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-accumulates of one call at batch size 1: one per output element and weight of its filter."""
    if not isinstance(module, MAC_LAYERS):
        return 0
    return output.numel() * module.weight.shape[1:].numel()


@torch.no_grad()
def model_summary(model: nn.Module, in_shape: tuple[int, ...] | list[int]) -> Summary:
    """Summarise ``model`` for inputs of shape ``in_shape`` (C, H, W) with its current binary switches.

    Runs one forward pass of a zero batch of 1 on the model's device (``meta`` works) in eval mode;
    the model's train/eval modes are restored afterwards.
    """
    owners = [(name, m) for name, m in model.named_modules() if next(m.parameters(recurse=False), None) is not None]
    names = {m: name for name, m in owners}
    called: dict[nn.Module, tuple[int, ...] | None] = {}
    macs: Counter = Counter()
    bops: Counter = Counter()

    def before(module, args):
        called.setdefault(module, None)

    def after(module, args, output):
        if isinstance(output, torch.Tensor):
            called[module] = called[module] or tuple(output.shape[1:])
            binary = isinstance(module, BinaryLayer) and module.binary_weights and module.binary_acts
            (bops if binary else macs)[module] += mac_count(module, output)

    modes = {m: m.training for m in model.modules()}
    handles = [h for _, m in owners for h in (m.register_forward_pre_hook(before), m.register_forward_hook(after))]
    first = next(model.parameters(), None)
    try:
        model.eval()(
            torch.zeros(
                1,
                *in_shape,
                device=first.device if first is not None else "cpu",
                dtype=first.dtype if first is not None else torch.float32,
            )
        )
    finally:
        for handle in handles:
            handle.remove()
        for module, training in modes.items():
            module.training = training

    seen: set[int] = set()
    rows = []
    for module in [*called, *(m for _, m in owners if m not in called)]:
        own = [p for p in module.parameters(recurse=False) if id(p) not in seen]
        seen.update(id(p) for p in own)
        binary_weight = module.weight if isinstance(module, BinaryLayer) and module.binary_weights else None
        n_binary = sum(p.numel() for p in own if p is binary_weight)
        rows.append(
            LayerRow(
                names[module],
                type(module).__name__,
                called.get(module),
                precision(module),
                n_binary,
                sum(p.numel() for p in own) - n_binary,
                macs[module],
                bops[module],
            )
        )
    layers = binary_layers(model)
    return Summary(
        tuple(rows),
        len(layers),
        sum(layer.binary_weights for layer in layers),
        sum(layer.binary_acts for layer in layers),
    )


HEADER = [
    "Layer",
    "Type",
    "Output",
    "W/A",
    "# 1-bit",
    "# 32-bit",
    "Packed KiB",
    "Float KiB",
    "32-bit MACs",
    "1-bit MACs",
]


def layer_cells(r: LayerRow) -> list[str]:
    shape = "x".join(map(str, r.output_shape)) if r.output_shape else "-"
    sizes = [f"{r.binary_params:,}", f"{r.real_params:,}", f"{r.packed_kib:,.2f}", f"{r.float_kib:,.2f}"]
    return [r.name, r.kind, shape, r.precision, *sizes, f"{r.macs:,}", f"{r.bops:,}"]


def total_cells(summary: Summary) -> list[str]:
    params = [f"{summary.total('binary_params'):,}", f"{summary.total('real_params'):,}"]
    sizes = [f"{summary.packed_kib:,.2f}", f"{summary.float_kib:,.2f}"]
    return ["Total", "", "", "", *params, *sizes, f"{summary.total('macs'):,}", f"{summary.total('bops'):,}"]


def totals(summary: Summary) -> list[tuple[str, str]]:
    """The model totals printed under the table: (label, value)."""
    binary, real = summary.total("binary_params"), summary.total("real_params")
    all_macs = summary.total("macs") + summary.total("bops")
    share = summary.total("bops") / all_macs if all_macs else 0.0
    return [
        ("Total params", f"{summary.params:,} ({binary:,} 1-bit, {real:,} 32-bit)"),
        ("Binarizable layers", f"{summary.layers} ({summary.binary_weight_layers} with binary weights, "
         f"{summary.binary_act_layers} with binary activations)"),
        ("Model size (packed)", f"{summary.packed_kib:,.2f} KiB"),
        ("Float-32 equivalent", f"{summary.float_kib:,.2f} KiB"),
        ("Compression ratio", f"{summary.compression:.2f}x (float / packed)"),
        ("32-bit MACs", f"{summary.total('macs'):,}"),
        ("Binary MACs (BOPs)", f"{summary.total('bops'):,} ({share:.1%} of all MACs)"),
    ]  # fmt: skip


def render(summary: Summary, title: str = "") -> str:
    """The summary as a text table (one row per layer and a total) followed by the model totals."""
    rows, total = [layer_cells(r) for r in summary.rows], total_cells(summary)
    widths = [max(len(row[i]) for row in [HEADER, *rows, total]) for i in range(len(HEADER))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(HEADER))
    facts = totals(summary)
    key_width = max(len(k) for k, _ in facts)
    table = [rule, line(HEADER), rule, *map(line, rows), rule, line(total), rule]
    return "\n".join([*([title] if title else []), *table, *(f"{k.ljust(key_width)}  {v}" for k, v in facts)])
