import pytest

from bnn.config.schedule import Schedule
from bnn.errors import BnnError


def weights_at(schedule: Schedule, epochs: int, n_layers: int) -> list[list[int]]:
    return [[int(w) for w, _ in schedule.states(e, n_layers)] for e in range(epochs)]


def test_constant_rules_keep_first_and_last_real_by_default():
    schedule = Schedule.parse({"weights": "binary", "acts": "binary"})
    assert schedule.states(0, 4) == [[False, False], [True, True], [True, True], [False, False]]


def test_weights_and_acts_rules_are_independent():
    schedule = Schedule.parse({"weights": "real", "acts": "binary"})
    assert schedule.states(5, 3) == [[False, False], [False, True], [False, False]]


def test_forward_order_binarizes_one_more_layer_every_k_epochs():
    schedule = Schedule.parse({"weights": {"order": "forward", "epochs_per_layer": 2}, "layers": "all"})
    assert weights_at(schedule, 7, 3) == [[1, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1], [1, 1, 1]]


def test_reverse_order_starts_from_the_output_layer():
    schedule = Schedule.parse({"weights": {"order": "reverse", "epochs_per_layer": 1}, "layers": "all"})
    assert weights_at(schedule, 3, 3) == [[0, 0, 1], [0, 1, 1], [1, 1, 1]]


@pytest.mark.parametrize("order", ["132", [1, 3, 2]])
def test_explicit_permutation(order):
    schedule = Schedule.parse({"weights": {"order": order, "epochs_per_layer": 1}, "layers": "all"})
    assert weights_at(schedule, 3, 3) == [[1, 0, 0], [1, 0, 1], [1, 1, 1]]


def test_random_order_is_a_seeded_permutation():
    def order(seed):
        s = Schedule.parse({"weights": {"order": "random", "epochs_per_layer": 1, "order_seed": seed}, "layers": "all"})
        return s.weights.permutation(8, "k")

    assert sorted(order(3)) == list(range(8))
    assert order(3) == order(3)
    assert order(3) != order(4)


def test_inner_layers_exclude_first_and_last_from_iteration():
    schedule = Schedule.parse({"weights": {"order": "forward", "epochs_per_layer": 1}})
    assert weights_at(schedule, 3, 4) == [[0, 1, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0]]


def test_not_a_permutation_is_rejected_with_key_path():
    schedule = Schedule.parse({"weights": {"order": "12", "epochs_per_layer": 1}, "layers": "all"}, "recipes.x")
    with pytest.raises(BnnError, match=r"recipes.x.weights.order: \[1, 2\] is not a permutation of the 3"):
        schedule.check(10, 3, "recipes.x")


def test_too_few_epochs_for_the_layer_schedule_is_rejected():
    schedule = Schedule.parse({"weights": {"order": "forward", "epochs_per_layer": 5}, "layers": "all"})
    with pytest.raises(BnnError, match="epochs_per_layer: 5 x 3 layers needs more than 10 epochs"):
        schedule.check(10, 3)


def test_float_only_model_accepts_only_an_all_real_schedule():
    float_schedule = Schedule.parse({"weights": "real", "acts": "real"})
    float_schedule.check(10, 0)
    assert float_schedule.states(0, 0) == []
    binary_schedule = Schedule.parse({"weights": "binary", "acts": "real"})
    with pytest.raises(BnnError, match="recipes.x: the model has no binarizable layers"):
        binary_schedule.check(10, 0, "recipes.x")


@pytest.mark.parametrize(
    "value,message",
    [
        ("binray", "is not 'real', 'binary'"),
        ({"order": "sideways", "epochs_per_layer": 1}, "is not one of forward, reverse, random"),
        ({"order": "forward", "epochs_per_layer": 0}, "epochs_per_layer: 0 must be an integer >= 1"),
    ],
)
def test_bad_rules_fail_with_one_line(value, message):
    with pytest.raises(BnnError, match=message):
        Schedule.parse({"weights": value})


def sensitivity_csv(tmp_path, accuracies):
    path = tmp_path / "sensitivity.csv"
    path.write_text(
        "layer,val_acc,best_val_acc,epochs\n" + "".join(f"{i},{a},{a},5\n" for i, a in enumerate(accuracies, start=1))
    )
    return str(path)


def test_ascend_binarizes_the_least_sensitive_layer_first(tmp_path):
    table = sensitivity_csv(tmp_path, [99.0, 98.0, 98.5, 98.5])  # layer 1 hurts least when binary alone
    ascend = Schedule.parse(
        {"weights": {"order": "ascend", "epochs_per_layer": 2, "sensitivity": table}, "layers": "all"}
    )
    assert ascend.weights.permutation(4, "k") == [0, 2, 3, 1]  # 99.0, then the 98.5 tie by layer number, then 98.0
    descend = Schedule.parse(
        {"weights": {"order": "descend", "epochs_per_layer": 2, "sensitivity": table}, "layers": "all"}
    )
    assert descend.weights.permutation(4, "k") == [1, 3, 2, 0]
    # layer j of the order (0-based) is binary from epoch j * k on and stays binary (docs/methods.md §5.2)
    assert weights_at(ascend, 8, 4) == [
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [1, 0, 1, 0],
        [1, 0, 1, 0],
        [1, 0, 1, 1],
        [1, 0, 1, 1],
        [1, 1, 1, 1],
        [1, 1, 1, 1],
    ]


def test_sensitivity_table_must_cover_the_controlled_layers(tmp_path):
    table = sensitivity_csv(tmp_path, [99.0, 98.0])
    schedule = Schedule.parse(
        {"weights": {"order": "ascend", "epochs_per_layer": 1, "sensitivity": table}, "layers": "all"}
    )
    with pytest.raises(BnnError, match=r"sensitivity: .* has layers \[1, 2\], this schedule controls layers 1..3"):
        schedule.check(5, 3)
    schedule.check(5, 3, tables_ready=False)  # at plan time the table does not exist yet


def test_only_rule_binarizes_one_layer_throughout():
    schedule = Schedule.parse({"weights": {"only": 2}, "layers": "all"})
    assert weights_at(schedule, 3, 3) == [[0, 1, 0]] * 3
    with pytest.raises(BnnError, match="only: layer 4 does not exist"):
        Schedule.parse({"weights": {"only": 4}, "layers": "all"}).check(3, 3)
