"""summary.csv and summary.md from accuracy.csv: one row per dataset x model x method.

Columns (``COLUMNS``): the group keys and ``arch``, W/A bits, ``seeds`` (runs averaged), ``top1_mean``,
``top1_std`` (sample std over seeds; empty with a single seed, where no spread is measured), ``model_kib``,
``train_seconds`` (mean over seeds), ``paper_top1`` and ``paper_source`` where METHODS.md §7 publishes
this (dataset, arch, method) (:mod:`bnn.report.paper`), and ``diff`` = ``top1_mean - paper_top1``.
"""

from __future__ import annotations

import pandas as pd

from bnn import layout
from bnn.errors import BnnError
from bnn.report.paper import paper_top1
from bnn.report.registry import Table, register_table

KEYS = ["dataset", "model", "arch", "method", "weight_bits", "act_bits"]
COLUMNS = [*KEYS, "seeds", "top1_mean", "top1_std", "model_kib", "train_seconds", "paper_top1", "diff", "paper_source"]


def summary_table(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Mean and std of top-1 over seeds per dataset x model x method, with the published number."""
    missing = [c for c in [*KEYS, "seed", "top1", "model_kib", "train_seconds"] if c not in accuracy.columns]
    if missing:
        raise BnnError(f"summary: accuracy.csv has no {missing[0]} column; re-run bnn aggregate")
    groups = accuracy.groupby(KEYS, sort=False)
    table = groups.agg(
        seeds=("seed", "nunique"),
        top1_mean=("top1", "mean"),
        top1_std=("top1", "std"),
        model_kib=("model_kib", "mean"),
        train_seconds=("train_seconds", "mean"),
    ).reset_index()
    paper = [paper_top1(row.dataset, row.arch, row.method) for row in table.itertuples()]
    table["paper_top1"] = [p[0] if p else None for p in paper]
    table["paper_source"] = [p[1] if p else "" for p in paper]
    table["diff"] = table["top1_mean"] - table["paper_top1"]
    return table[COLUMNS].round({"top1_mean": 4, "top1_std": 4, "model_kib": 3, "train_seconds": 3, "diff": 4})


def number(value: float, digits: int) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def render_markdown(table: pd.DataFrame) -> str:
    """A Markdown table: top-1 as ``mean ± std`` (mean alone with one seed), signed difference to the paper, and
    the measured speed-up of the deployed network per batch when the runs were deployed."""
    speedups = [c for c in table.columns if c.startswith("speedup_b")]
    head = [
        "dataset",
        "model",
        "arch",
        "method",
        "W/A",
        "seeds",
        "top-1 %",
        "paper %",
        "diff",
        "size KiB",
        "train s",
        *(f"speed-up b{c[len('speedup_b') :]}" for c in speedups),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table.to_dict("records"):
        top1 = number(row["top1_mean"], 2) + ("" if pd.isna(row["top1_std"]) else f" ± {row['top1_std']:.2f}")
        diff = "" if pd.isna(row["diff"]) else f"{row['diff']:+.2f}"
        cells = [
            row["dataset"],
            row["model"],
            row["arch"],
            row["method"],
            f"{row['weight_bits']}/{row['act_bits']}",
            str(row["seeds"]),
            top1,
            number(row["paper_top1"], 2),
            diff,
            number(row["model_kib"], 1),
            number(row["train_seconds"], 1),
            *(number(row[c], 1) + "x" for c in speedups),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "Top-1 is the test accuracy, mean ± sample std over seeds (no ± with one seed). `paper` is the "
        "published top-1 for the same dataset, architecture and recipe (METHODS.md §7); `diff` = ours − paper."
        + (
            " `speed-up bN`: latency of the network run in PyTorch with every layer real over that of the deployed "
            "binary network in OpenVINO (x86 BinaryConvolution kernels), batch N (inference.csv)."
            if speedups
            else ""
        )
    )
    return "\n".join(["# Summary", "", note, "", *lines, ""])


def build(files: list[str]) -> pd.DataFrame:
    """accuracy.csv, and inference.csv when the runs were deployed (the speed-up columns)."""
    table = summary_table(pd.read_csv(files[0]))
    if len(files) > 1:
        from bnn.report.speedup import add_speedup

        table = add_speedup(table, pd.read_csv(files[1]))
    return table


def inputs(plan) -> list[str]:
    deployed = [layout.table("inference")] if plan.deploy_files() else []
    return [layout.table("accuracy"), *deployed]


register_table(
    Table(
        "summary",
        "one row per dataset x model x method: top-1 mean and std over seeds, seeds, W/A bits, "
        "size, mean training seconds, the published top-1 (METHODS.md §7) with the difference, and "
        "the measured speed-up of the deployed binary network",
        inputs,
        build,
        render_markdown,
    )
)
