"""KD and distributional losses (docs/methods.md §0.6) against hand-worked values; a loss is a weighted sum of terms.

Logits chosen so the softmaxes are simple fractions: [0, ln 3] -> (1/4, 3/4); [ln 3, 0] -> (3/4, 1/4);
at temperature 2 they become (1, √3)/(1 + √3) and (√3, 1)/(1 + √3).
"""

import math

import pytest
import torch

from bnn.config.spec import LossSpec
from bnn.errors import BnnError
from bnn.losses import build_loss

LN3 = math.log(3.0)
STUDENT = torch.tensor([[0.0, LN3]])
TEACHER = torch.tensor([[LN3, 0.0]])
LABEL = torch.tensor([1])


def loss_of(terms: dict):
    return build_loss(LossSpec.parse(terms, "loss"), num_classes=2)


def test_hinton_kd_equals_the_hand_computed_value():
    alpha, t = 0.9, 2.0
    a, b = math.sqrt(3) / (1 + math.sqrt(3)), 1 / (1 + math.sqrt(3))  # teacher (a, b), student (b, a) at T = 2
    kl = a * math.log(a / b) + b * math.log(b / a)  # KL(teacher || student), one sample: batchmean = sum
    ce = -math.log(3 / 4)  # label 1 has student probability 3/4
    expected = alpha * t * t * kl + (1 - alpha) * ce
    loss = loss_of({"kd": {"weight": alpha, "temperature": t}, "ce": 1 - alpha})
    assert loss.needs_teacher
    assert loss(STUDENT, LABEL, TEACHER).item() == pytest.approx(expected, rel=1e-6)


def test_distributional_is_the_soft_cross_entropy_to_the_teacher_without_labels():
    # sample 1: teacher (3/4, 1/4), student (1/4, 3/4); sample 2: student equal to the teacher (its entropy)
    first = -(3 / 4 * math.log(1 / 4) + 1 / 4 * math.log(3 / 4))
    second = -(3 / 4 * math.log(3 / 4) + 1 / 4 * math.log(1 / 4))
    loss = loss_of({"distributional": 1.0})
    student, teacher = torch.cat([STUDENT, TEACHER]), torch.cat([TEACHER, TEACHER])
    value = loss(student, torch.tensor([0, 1]), teacher).item()
    assert value == pytest.approx((first + second) / 2, rel=1e-6)
    assert loss(student, torch.tensor([1, 0]), teacher).item() == pytest.approx(value)  # labels play no part


def test_cross_entropy_and_bad_options():
    assert loss_of({"ce": 1.0})(STUDENT, LABEL).item() == pytest.approx(-math.log(3 / 4), rel=1e-6)
    assert loss_of({"ce": 0.5})(STUDENT, LABEL).item() == pytest.approx(-0.5 * math.log(3 / 4), rel=1e-6)
    with pytest.raises(
        BnnError,
        match=r"^loss.kd.beta: not an option of loss term 'kd'; its options are: weight, "
        r"temperature",
    ):
        loss_of({"kd": {"weight": 1.0, "beta": 1.0}})
    with pytest.raises(BnnError, match=r"^loss: unknown loss term 'cee' \(did you mean 'ce'\?\)"):
        loss_of({"cee": 1.0})
    with pytest.raises(BnnError, match=r"^loss.ce: 'high' must be a number >= 0"):
        loss_of({"ce": "high"})


def test_terms_add_in_config_order_with_their_weights():
    both = loss_of({"distributional": 2.0, "ce": 0.25})
    parts = 2.0 * loss_of({"distributional": 1.0})(STUDENT, LABEL, TEACHER) + 0.25 * loss_of({"ce": 1.0})(
        STUDENT, LABEL
    )
    assert both(STUDENT, LABEL, TEACHER).item() == pytest.approx(parts.item(), rel=1e-6)
    assert both.needs_teacher and not loss_of({"ce": 1.0}).needs_teacher
