"""The comparisons' statistics on synthetic predictions with known answers (docs/results.md, "Statistics")."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bnn.cli import main
from bnn.errors import BnnError
from bnn.report.predictions import Predictions, write_predictions
from bnn.report.statistics import Interval, accuracy_interval, holm, mcnemar, mean_interval, verdict, wilson
from bnn.report.tables.comparison import comparison_table

N = 400
LABELS = np.arange(N) % 10


def predictions(wrong: list[int] | np.ndarray) -> Predictions:
    """Predictions on LABELS, wrong exactly on the given images."""
    predicted = LABELS.copy()
    predicted[np.asarray(wrong, dtype=int)] = (LABELS[np.asarray(wrong, dtype=int)] + 1) % 10
    return Predictions(LABELS, predicted)


def test_identical_runs_differ_by_zero_with_p_one():
    runs = {("d", "m", method, 0): predictions(range(0, 40)) for method in ("binary", "other")}
    row = comparison_table(runs, ["binary"]).iloc[0]
    assert (row["delta"], row["delta_low"], row["delta_high"]) == (0.0, 0.0, 0.0)
    assert (row["method_only"], row["baseline_only"], row["p_value"], row["p_holm"]) == (0, 0, 1.0, 1.0)
    assert row["verdict"] == "no evidence"


def test_thirty_discordant_pairs_all_one_way_are_strong_evidence():
    runs = {("d", "m", "binary", 0): predictions(range(0, 50)), ("d", "m", "better", 0): predictions(range(30, 50))}
    row = comparison_table(runs, ["binary"]).iloc[0]
    assert (row["method_only"], row["baseline_only"]) == (30, 0)
    assert row["p_value"] == pytest.approx(2 * 0.5**30) and row["p_value"] < 1e-8
    assert row["delta"] == pytest.approx(100 * 30 / N) and row["delta_low"] > 0 and row["verdict"] == "better"


def test_worse_method_and_holm_across_the_family():
    runs = {
        ("d", "m", "binary", 0): predictions(range(0, 40)),
        ("d", "m", "worse", 0): predictions(range(0, 70)),  # 30 more wrong
        ("d", "m", "tie", 0): predictions([*range(2, 40), 100, 101]),  # 2 discordant each way
    }
    table = comparison_table(runs, ["binary"]).set_index("method")
    assert table.loc["worse", "verdict"] == "worse" and table.loc["tie", "verdict"] == "no evidence"
    raw = [table.loc["worse", "p_value"], table.loc["tie", "p_value"]]
    assert table.loc["worse", "p_holm"] == pytest.approx(2 * min(raw))
    assert table.loc["tie", "p_holm"] == pytest.approx(max(2 * min(raw), max(raw)))


def test_holm_against_a_worked_example():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == [0.5] and holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])


def test_mcnemar_is_scipys_exact_binomial_test():
    assert mcnemar(7, 2) == pytest.approx(stats.binomtest(7, 9, 0.5).pvalue)
    assert mcnemar(0, 0) == 1.0 and mcnemar(3, 3) == 1.0


def test_wilson_is_scipys_interval_in_percent():
    ci = stats.binomtest(349, 360).proportion_ci(confidence_level=0.95, method="wilson")
    interval = wilson(349, 360)
    assert (interval.low, interval.high) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert interval.mean == pytest.approx(100 * 349 / 360) and interval.high <= 100.0
    assert accuracy_interval(predictions(range(11)).correct[None]) == wilson(N - 11, N)


def test_one_seed_paired_interval_is_a_t_interval_on_the_differences():
    differences = np.zeros(N)
    differences[:30], differences[30:40] = 1, -1
    interval = mean_interval(differences[None])
    low, high = stats.t.interval(0.95, N - 1, loc=differences.mean(), scale=stats.sem(differences))
    assert (interval.low, interval.high) == pytest.approx((100 * low, 100 * high))


def test_several_seeds_widen_the_interval_by_their_spread():
    rng = np.random.default_rng(0)
    same = rng.random(N) < 0.9
    steady = mean_interval(np.stack([same, same, same]).astype(float))
    noisy = mean_interval(np.stack([same, rng.random(N) < 0.8, rng.random(N) < 0.95]).astype(float))
    one = mean_interval(same[None].astype(float))
    assert steady.high - steady.low == pytest.approx(one.high - one.low, rel=1e-6)
    assert noisy.high - noisy.low > 2 * (one.high - one.low)


def test_verdict_needs_the_adjusted_p_below_alpha_and_the_interval_clear_of_zero():
    assert verdict(Interval(1.2, 0.3, 2.1), 0.01) == "better" and verdict(Interval(-0.4, -0.7, -0.1), 0.049) == "worse"
    assert verdict(Interval(5.0, 4.0, 6.0), 0.05) == "no evidence"  # the test does not reject
    assert verdict(Interval(0.6, -0.1, 1.3), 1e-12) == "no evidence"  # the seeds' spread leaves 0 inside


def test_two_seeds_that_disagree_give_no_evidence_whatever_the_pooled_test():
    runs = {("d", "m", "binary", s): predictions(range(0, 60)) for s in (0, 1)}
    runs[("d", "m", "new", 0)] = predictions(range(50, 60))  # 50 better on seed 0 ...
    runs[("d", "m", "new", 1)] = predictions(range(0, 62))  # ... 2 worse on seed 1
    row = comparison_table(runs, ["binary"]).iloc[0]
    assert row["p_value"] < 1e-8 and row["delta_low"] < 0 < row["delta_high"] and row["verdict"] == "no evidence"


def test_seeds_pair_by_number_and_pool_their_discordant_images():
    runs = {("d", "m", "binary", s): predictions(range(0, 40)) for s in (0, 1)}
    runs[("d", "m", "new", 0)] = predictions(range(5, 40))
    runs[("d", "m", "new", 1)] = predictions(range(8, 40))
    runs[("d", "m", "new", 7)] = predictions([])  # no baseline run with seed 7: not paired
    row = comparison_table(runs, ["binary"]).iloc[0]
    assert row["seeds"] == 2 and (row["method_only"], row["baseline_only"]) == (13, 0)
    assert row["p_value"] == pytest.approx(stats.binomtest(13, 13).pvalue)


def test_runs_on_different_test_images_are_refused():
    other = Predictions(np.roll(LABELS, 1), np.roll(LABELS, 1))
    with pytest.raises(BnnError, match="different images"):
        comparison_table({("d", "m", "binary", 0): predictions([]), ("d", "m", "x", 0): other}, ["binary"])


def test_table_command_recomputes_from_prediction_files(tmp_path):
    files = []
    for method, wrong in (("binary", range(0, 60)), ("new", range(10, 50))):
        folder = tmp_path / method
        folder.mkdir()
        (folder / "eval.json").write_text(f'{{"dataset": "d", "model": "m", "method": "{method}", "seed": 0}}')
        write_predictions(folder / "predictions.csv", LABELS, predictions(wrong).predicted)
        files.append(str(folder / "predictions.csv"))
    out = tmp_path / "comparison.csv"
    assert main(["table", "comparison", "--out", str(out), "--settings", '{"baseline": "binary"}', *files]) == 0
    row = pd.read_csv(out).iloc[0]
    ours, theirs = (pd.read_csv(f) for f in reversed(files))
    right_ours, right_theirs = ours["label"] == ours["prediction"], theirs["label"] == theirs["prediction"]
    only_ours, only_theirs = int((right_ours & ~right_theirs).sum()), int((~right_ours & right_theirs).sum())
    assert row["p_value"] == stats.binomtest(only_ours, only_ours + only_theirs, 0.5).pvalue
    assert main(["table", "comparison", "--out", str(out), "--settings", '{"baselines": "x"}', *files]) == 2
    assert main(["table", "comparison", "--out", str(out), "--settings", '{"baseline": 3}', *files]) == 2
