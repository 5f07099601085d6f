"""summary.csv and summary.md from accuracy.csv and the runs' predictions: one row per dataset x model x method.

Columns (``COLUMNS``): the group keys and ``arch``, W/A bits, ``seeds`` (runs averaged), ``top1_mean`` with its 95 %
interval ``top1_low``/``top1_high`` (Wilson's for one seed; over several, an interval counting both the seeds' spread
and the test images' sampling: docs/results.md, "Statistics"), ``top1_std`` (sample std over seeds; empty with a
single seed), ``model_kib``, ``train_seconds`` (mean over seeds), ``paper_top1`` and ``paper_source`` where
the published numbers (:mod:`bnn.report.paper`) have this (dataset, arch, method), ``diff`` = ``top1_mean -
paper_top1``, and, from comparison.csv, the paired comparison against the first ``compare.baseline`` run beside it:
``baseline``, ``delta`` with ``delta_low``/``delta_high``, ``p_value``, ``p_holm`` and ``verdict`` (``baseline`` on
the baseline's own row).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bnn.errors import BnnError
from bnn.plan import layout
from bnn.report.paper import paper_top1
from bnn.report.predictions import Predictions, RunKey, correct_matrix, run_predictions
from bnn.report.registry import Table, register_table
from bnn.report.statistics import accuracy_interval

KEYS = ["dataset", "model", "arch", "method", "weight_bits", "act_bits"]
COMPARED = ["baseline", "delta", "delta_low", "delta_high", "p_value", "p_holm", "verdict"]
COLUMNS = [
    *KEYS,
    "seeds",
    "top1_mean",
    "top1_low",
    "top1_high",
    "top1_std",
    "model_kib",
    "train_seconds",
    "paper_top1",
    "diff",
    "paper_source",
    *COMPARED,
]


def top1_intervals(table: pd.DataFrame, runs: dict[RunKey, Predictions]) -> list[tuple[float, float]]:
    """The 95 % interval of each summary row's top-1 over its seeds, from the runs' predictions."""
    intervals = []
    for row in table.itertuples():
        group = (row.dataset, row.model, row.method)
        seeds = sorted(s for d, m, r, s in runs if (d, m, r) == group)
        if len(seeds) != row.seeds:
            raise BnnError(
                f"summary: {'/'.join(group)} has {row.seeds} runs in accuracy.csv but {len(seeds)} predictions "
                f"files; give the {layout.PREDICTIONS} of every evaluated run"
            )
        interval = accuracy_interval(correct_matrix(runs, group, seeds))
        intervals.append((round(interval.low, 4), round(interval.high, 4)))
    return intervals


def comparison_columns(table: pd.DataFrame, comparison: pd.DataFrame | None) -> pd.DataFrame:
    """Each row's comparison against its first baseline (comparison.csv's row order); ``verdict: baseline`` on a
    baseline's own row when nothing else is its baseline."""
    compared = pd.DataFrame(columns=COMPARED)
    if comparison is not None and len(comparison):
        firsts = comparison.drop_duplicates(["dataset", "model", "method"])
        compared = table[["dataset", "model", "method"]].merge(firsts, how="left", on=["dataset", "model", "method"])
        baselines = set(zip(comparison["dataset"], comparison["model"], comparison["baseline"]))
        own = pd.Series([key in baselines for key in zip(table["dataset"], table["model"], table["method"])])
        compared.loc[own & compared["verdict"].isna(), "verdict"] = "baseline"
    return table.assign(**{c: compared[c].to_numpy() if len(compared) else None for c in COMPARED})


def summary_table(
    accuracy: pd.DataFrame, runs: dict[RunKey, Predictions], comparison: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Top-1 over seeds per dataset x model x method with its interval, the published number and the paired
    comparison against the baseline."""
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
    table["top1_low"], table["top1_high"] = zip(*top1_intervals(table, runs))
    paper = [paper_top1(row.dataset, row.arch, row.method) for row in table.itertuples()]
    table["paper_top1"] = [p[0] if p else None for p in paper]
    table["paper_source"] = [p[1] if p else "" for p in paper]
    table["diff"] = table["top1_mean"] - table["paper_top1"]
    table = comparison_columns(table, comparison)
    return table[COLUMNS].round({"top1_mean": 4, "top1_std": 4, "model_kib": 3, "train_seconds": 3, "diff": 4})


def number(value: float, digits: int) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def interval(low: float, high: float) -> str:
    return "" if pd.isna(low) else f"[{low:.2f}, {high:.2f}]"


def p_value(value: float) -> str:
    return "" if pd.isna(value) else f"{value:.2g}"


def render_markdown(table: pd.DataFrame) -> str:
    """A Markdown table: top-1 with its 95 % interval, signed difference to the paper, the paired comparison
    against the baseline, and the measured speed-up of the deployed network per batch when the runs were deployed."""
    speedups = [c for c in table.columns if c.startswith(("binary_speedup_b", "torch_speedup_b"))]
    head = [
        "dataset",
        "model",
        "arch",
        "method",
        "W/A",
        "seeds",
        "top-1 % [95 % CI]",
        "paper %",
        "diff",
        "vs",
        "Δ top-1 [95 % CI]",
        "p (Holm)",
        "verdict",
        "size KiB",
        "train s",
        *(("binary ×" if c.startswith("binary") else "vs torch ×") + f" b{c.rpartition('_b')[2]}" for c in speedups),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in table.to_dict("records"):
        delta = "" if pd.isna(row["delta"]) else f"{row['delta']:+.2f} {interval(row['delta_low'], row['delta_high'])}"
        cells = [
            row["dataset"],
            row["model"],
            row["arch"],
            row["method"],
            f"{row['weight_bits']}/{row['act_bits']}",
            str(row["seeds"]),
            f"{number(row['top1_mean'], 2)} {interval(row['top1_low'], row['top1_high'])}",
            number(row["paper_top1"], 2),
            "" if pd.isna(row["diff"]) else f"{row['diff']:+.2f}",
            "" if pd.isna(row["baseline"]) else str(row["baseline"]),
            delta,
            "" if pd.isna(row["p_value"]) else f"{p_value(row['p_value'])} ({p_value(row['p_holm'])})",
            "" if pd.isna(row["verdict"]) else str(row["verdict"]),
            number(row["model_kib"], 1),
            number(row["train_seconds"], 1),
            *("" if pd.isna(row[c]) else number(row[c], 1) + "x" for c in speedups),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        "Top-1 is the test accuracy, the mean over seeds with its 95 % interval (Wilson's for one seed; over "
        "several seeds it counts both the seeds' spread and the sampling of the test images). `paper` is the "
        "published top-1 for the same dataset, architecture and recipe; `diff` = ours − paper. `Δ top-1` is the "
        "method minus the baseline `vs`, paired on the same seeds and test images, with its 95 % interval; `p` is "
        "the exact McNemar p-value over the discordant images, `(Holm)` adjusted across the methods compared with "
        "that baseline; `verdict` is better or worse when the adjusted p is below 0.05 and the interval is clear of "
        "0, else no evidence "
        '(docs/results.md, "Statistics").'
        + (
            " `binary × bN`: the binary speed-up at batch N, latency of the same network with every layer real over "
            "that of the deployed binary network, both in OpenVINO (x86 BinaryConvolution kernels; empty where no "
            "binary kernel ran); `vs torch × bN`: PyTorch with every layer real over the deployed binary network "
            "(engine and binarization together; inference.csv, docs/deploy.md)."
            if speedups
            else ""
        )
    )
    return "\n".join(["# Summary", "", note, "", *lines, ""])


def build(files: list[str]) -> pd.DataFrame:
    """accuracy.csv, the runs' predictions.csv, comparison.csv when methods are compared, and inference.csv when
    the runs were deployed (the speed-up columns); told apart by file name."""
    named = {name: [f for f in files if Path(f).name == name] for name in ("accuracy.csv", "comparison.csv")}
    inference = [f for f in files if Path(f).name == "inference.csv"]
    predictions = [f for f in files if Path(f).name == layout.PREDICTIONS]
    if len(named["accuracy.csv"]) != 1:
        raise BnnError("table summary: give exactly one accuracy.csv (with the runs' predictions.csv files)")
    comparison = pd.read_csv(named["comparison.csv"][0]) if named["comparison.csv"] else None
    table = summary_table(pd.read_csv(named["accuracy.csv"][0]), run_predictions(predictions), comparison)
    if inference:
        from bnn.report.speedup import add_speedup

        table = add_speedup(table, pd.read_csv(inference[0]))
    return table


def inputs(plan) -> list[str]:
    deployed = [layout.table("inference")] if plan.deploy_files() else []
    compared = [layout.table("comparison")] if plan.compared() else []
    return [layout.table("accuracy"), *compared, *deployed, *plan.prediction_files()]


register_table(
    Table(
        "summary",
        "one row per dataset x model x method: top-1 mean over seeds with its 95 % interval and std, seeds, W/A "
        "bits, size, mean training seconds, the published top-1 with the difference, the paired comparison "
        "against the baseline (difference with its 95 % interval, McNemar and Holm p-values, verdict), and the "
        "measured speed-up of the deployed binary network",
        inputs,
        build,
        render_markdown,
    )
)
