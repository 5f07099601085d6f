"""comparison.csv: every method against each ``compare.baseline``, paired image by image on the same dataset, model,
seeds and test split (docs/results.md, "Statistics"), from the runs' predictions.csv.

One row per dataset x model x baseline x method: the seeds both ran, both top-1 means, the difference in top-1 with
its 95 % paired interval (seeds' spread and test images' sampling), the discordant images (``method_only``: right
only for the method; ``baseline_only``) of every seed pooled, the exact McNemar p-value on them, its Holm adjustment
across the methods compared with that baseline on that dataset/model, and the verdict (better or worse when the
adjusted p-value is below 0.05 and the interval is clear of 0).
"""

from __future__ import annotations

import pandas as pd

from bnn.errors import BnnError
from bnn.report.predictions import Predictions, RunKey, check_paired, correct_matrix, run_predictions
from bnn.report.registry import Table, register_table
from bnn.report.statistics import Interval, holm, mcnemar, mean_interval, verdict

COLUMNS = [
    "dataset",
    "model",
    "baseline",
    "method",
    "seeds",
    "top1",
    "baseline_top1",
    "delta",
    "delta_low",
    "delta_high",
    "method_only",
    "baseline_only",
    "p_value",
    "p_holm",
    "verdict",
]


def compare_pair(runs: dict[RunKey, Predictions], dataset: str, model: str, method: str, baseline: str) -> dict | None:
    """One method against one baseline on their common seeds; None when they share no seed."""
    seeds = sorted(s for d, m, r, s in runs if (d, m, r) == (dataset, model, method) and (d, m, baseline, s) in runs)
    if not seeds:
        return None
    for seed in seeds:
        check_paired(
            runs[(dataset, model, method, seed)],
            runs[(dataset, model, baseline, seed)],
            f"comparison {dataset}/{model}/{method} vs {baseline}, seed {seed}",
        )
    ours = correct_matrix(runs, (dataset, model, method), seeds)
    theirs = correct_matrix(runs, (dataset, model, baseline), seeds)
    delta = mean_interval(ours.astype(float) - theirs)
    method_only, baseline_only = int((ours > theirs).sum()), int((ours < theirs).sum())
    return {
        "dataset": dataset,
        "model": model,
        "baseline": baseline,
        "method": method,
        "seeds": len(seeds),
        "top1": 100.0 * ours.mean(),
        "baseline_top1": 100.0 * theirs.mean(),
        "delta": delta.mean,
        "delta_low": delta.low,
        "delta_high": delta.high,
        "method_only": method_only,
        "baseline_only": baseline_only,
        "p_value": mcnemar(method_only, baseline_only),
    }


def comparison_table(runs: dict[RunKey, Predictions], baselines: list[str]) -> pd.DataFrame:
    """Every method against every baseline run on the same dataset/model, Holm-adjusted per dataset x model x
    baseline."""
    groups = list(dict.fromkeys((d, m) for d, m, _, _ in runs))
    rows = []
    for dataset, model in groups:
        methods = list(dict.fromkeys(r for d, m, r, _ in runs if (d, m) == (dataset, model)))
        for baseline in (b for b in baselines if b in methods):
            family = [compare_pair(runs, dataset, model, method, baseline) for method in methods if method != baseline]
            family = [row for row in family if row]
            for row, adjusted in zip(family, holm([row["p_value"] for row in family])):
                interval = Interval(row["delta"], row["delta_low"], row["delta_high"])
                rows.append({**row, "p_holm": adjusted, "verdict": verdict(interval, adjusted)})
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.round({c: 4 for c in ("top1", "baseline_top1", "delta", "delta_low", "delta_high")})


def build(files: list[str], baseline: list[str] | str = "binary") -> pd.DataFrame:
    baselines = [baseline] if isinstance(baseline, str) else baseline
    if not isinstance(baselines, list) or not baselines or not all(isinstance(b, str) for b in baselines):
        raise BnnError(f"--settings baseline: {baseline!r} must be a recipe name or a non-empty list of them")
    return comparison_table(run_predictions(files), baselines)


register_table(
    Table(
        "comparison",
        "every method against the compare.baseline recipe(s), paired on the same seeds and test images: "
        "difference in top-1 with its 95 % interval, exact McNemar p-value, Holm-adjusted p-value, verdict",
        lambda plan: plan.prediction_files() if plan.compared() else None,
        build,
        settings=lambda plan: {"baseline": list(plan.compare.baseline)},
    )
)
