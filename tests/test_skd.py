"""SKD-BNN (docs/methods.md §6): loss terms against hand-computed values, the shadow branch, a real resumed stage."""

import dataclasses
import math

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bnn.config.spec import LossSpec, ModelSpec
from bnn.errors import BnnError
from bnn.io import load_torch
from bnn.losses import build_loss
from bnn.losses.skd import SoftLabelBank, channel_spatial, label_cluster
from bnn.models import build
from bnn.nn import BinaryLinear, binary_layers, configure_binary, set_layer_states
from bnn.plan.experiments import Plan
from bnn.skd import ShadowBranch
from bnn.train.run import run_stage

IRNET = {"weight_estimator": "ede", "act_estimator": "ede", "scaling": "libra_pb"}


def inner_binary(model: nn.Module) -> nn.Module:
    """The paper's rule: every binarizable layer binary but the first and the last; IR-Net binarization."""
    configure_binary(model, **IRNET)
    n = len(binary_layers(model))
    set_layer_states(model, [[0 < i < n - 1] * 2 for i in range(n)])
    return model.train()


def test_channel_spatial_loss_by_hand():
    f = torch.zeros(1, 2, 2, 2)
    f[0, 0] = 1.0  # channel means (1, 0) -> unit (1, 0); channel-mean map all 0.5 -> unit (0.5, 0.5, 0.5, 0.5)
    g = torch.zeros(1, 2, 2, 2)
    g[0, 1, 0, 0] = 4.0  # channel means (0, 1) -> unit (0, 1); map (2, 0, 0, 0) -> unit (1, 0, 0, 0)
    one = math.sqrt(2) / 2 + 1.0 / 2**2  # (|u_F - u_G| / C + |v_F - v_G| / H^2) / B, B = 1
    assert channel_spatial(f, g).item() == pytest.approx(one)
    # two equal samples: one Frobenius norm over the batch (sqrt 2 times one sample's), then / B = 2
    two = (math.sqrt(2) * math.sqrt(2) / 2 + math.sqrt(2) * 1.0 / 4) / 2
    assert channel_spatial(f.repeat(2, 1, 1, 1), g.repeat(2, 1, 1, 1)).item() == pytest.approx(two)
    # 2-D features (MLP): only the channel term
    assert channel_spatial(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 3.0]])).item() == pytest.approx(
        math.sqrt(2) / 2
    )


def test_channel_spatial_loss_gradient_reaches_only_the_binary_feature():
    f = torch.randn(3, 4, 2, 2, requires_grad=True)
    g = torch.randn(3, 4, 2, 2, requires_grad=True)
    channel_spatial(f, g).backward()
    assert f.grad is not None and f.grad.abs().sum() > 0 and g.grad is None


def test_label_cluster_loss_by_hand():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], requires_grad=True)
    # class 0: centroid (0.5, 0.5), cos = 1/sqrt 2 for both samples; class 1: its own sample, cos = 1
    expected = 2 * (1 - 1 / math.sqrt(2)) / 2 / 3
    loss = label_cluster(features, torch.tensor([0, 0, 1]))
    assert loss.item() == pytest.approx(expected)
    loss.backward()  # centroids detached: the singleton class (cos 1 with itself) gets no gradient
    assert features.grad[2].abs().max() < 1e-7 and features.grad[0].abs().max() > 0


def kl(p_logits: list[float], q_logits: list[float], t: float) -> float:
    p = F.softmax(torch.tensor(p_logits) / t, 0)
    q = F.softmax(torch.tensor(q_logits) / t, 0)
    return float((p * (p / q).log()).sum())


def test_label_bank_replaces_rows_keeps_rows_of_classes_without_correct_samples_and_skips_empty_ones():
    bank = SoftLabelBank(3, temperature=4.0)
    z = torch.tensor([[0.5, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 2])
    assert bank.kl(z, labels).item() == 0.0  # epoch 0: empty bank, zero weight
    bank.observe(
        torch.tensor([[2.0, 0.0, 0.0], [4.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), torch.tensor([0, 0, 1, 2])
    )  # class 2's only sample is wrong
    bank.on_epoch_end(0)
    assert torch.equal(bank.bank[:2], torch.tensor([[3.0, 0.5, 0.0], [0.0, 1.0, 0.0]]))
    assert bank.valid.tolist() == [True, True, False]
    # class 2 has no row yet: skipped, the sum still divided by the whole batch of 2
    assert bank.kl(z, labels).item() == pytest.approx(kl([3.0, 0.5, 0.0], [0.5, 0.0, 0.0], 4.0) / 2, rel=1e-5)

    bank.observe(torch.tensor([[0.0, 0.0, 2.0], [1.0, 3.0, 0.0]]), torch.tensor([2, 0]))  # only class 2 correct
    bank.on_epoch_end(1)
    assert torch.equal(bank.bank, torch.tensor([[3.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]]))
    restored = SoftLabelBank(3, temperature=4.0)
    restored.load_state_dict(bank.state_dict())  # buffers: in checkpoint.pt and resume.pt
    assert restored.kl(z, labels).item() == pytest.approx(
        (kl([3.0, 0.5, 0.0], [0.5, 0.0, 0.0], 4.0) + kl([0.0, 0.0, 2.0], [0.0, 1.0, 0.0], 4.0)) / 2, rel=1e-5
    )


def tiny_model() -> nn.Sequential:
    """An odd fan-in, so no binary output of the first layer is exactly 0."""
    torch.manual_seed(0)
    model = nn.Sequential(
        BinaryLinear(5, 6, bias=False),
        nn.BatchNorm1d(6),
        nn.Hardtanh(),
        BinaryLinear(6, 6),
        nn.BatchNorm1d(6),
        nn.Hardtanh(),
        BinaryLinear(6, 3),
    )
    configure_binary(model, **IRNET)
    set_layer_states(model, [[True, True], [True, True], [False, False]])
    return model.train()


def test_value_swap_has_binary_magnitudes_and_real_signs():
    model = tiny_model()
    branch = ShadowBranch(model)
    x = torch.randn(8, 5)
    model(x)
    layer = model[0]
    w = layer.weight
    w_hat = (w - w.mean(1, keepdim=True)) / w.std(1, keepdim=True)  # Libra-PB before the sign, no scale
    scale = torch.exp2(torch.round(torch.log2(w_hat.abs().mean(1, keepdim=True))))
    o_b = F.linear(torch.sign(x), torch.sign(w_hat) * scale)
    assert torch.allclose(branch.binary_out[layer], o_b)
    target = branch.swap(layer, x)
    assert torch.allclose(target.abs(), o_b.abs())
    assert torch.equal(torch.sign(target), torch.sign(F.linear(x, w_hat)))
    # the first pair's real feature: T through BN with the real path's own batch statistics, then Hardtanh
    (f1, g1), (f2, g2) = branch.pairs()
    bn = model[1]
    expected = F.hardtanh(F.batch_norm(target, None, None, bn.weight, bn.bias, training=True))
    assert torch.allclose(g1, expected, atol=1e-6) and not g1.requires_grad and f1.requires_grad
    assert g2.shape == f2.shape == (8, 6)


def test_shadow_pass_leaves_batchnorm_running_stats_and_the_backward_intact():
    model = tiny_model()
    branch = ShadowBranch(model)
    logits = model(torch.randn(8, 5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    pairs = branch.pairs()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    (logits.sum() + sum(channel_spatial(f, g) for f, g in pairs)).backward()  # nothing saved was overwritten
    assert model[0].weight.grad is not None


@pytest.mark.parametrize(
    "arch, options, in_shape, pairs",
    [
        ("resnet20_bireal", {}, (3, 32, 32), 18),
        ("resnet20", {}, (3, 32, 32), 18),
        ("vgg_small", {}, (3, 16, 16), 5),
        ("convnet", {"channels": [8, 16, 32]}, (1, 8, 8), 2),
        ("mlp", {"hidden": [16, 16]}, (1, 8, 8), 1),
        ("resnet18_cifar", {}, (3, 32, 32), 16),
        ("resnet18_bireal", {}, (3, 64, 64), 16),
    ],
)
def test_feature_pairs_per_architecture(arch, options, in_shape, pairs):
    model = inner_binary(build(arch, 10, in_shape, **options))
    branch = ShadowBranch(model)
    model(torch.randn(2, *in_shape))
    found = branch.pairs()
    assert len(found) == pairs
    assert all(f.shape == g.shape for f, g in found)
    assert branch.penultimate.shape[0] == 2 and branch.penultimate.flatten(1).shape[1] == (
        binary_layers(model)[-1].in_features
    )


def test_skd_refuses_a_model_without_activations_after_its_binary_layers():
    model = inner_binary(nn.Sequential(nn.Flatten(), BinaryLinear(64, 16), BinaryLinear(16, 16), BinaryLinear(16, 10)))
    branch = ShadowBranch(model)
    model(torch.randn(2, 1, 8, 8))
    with pytest.raises(BnnError, match="loss.name: skd found no activation"):
        branch.pairs()


def test_skd_needs_binarizable_layers():
    with pytest.raises(BnnError, match="loss.name: skd needs a model with binarizable layers"):
        ShadowBranch(nn.Sequential(nn.Linear(4, 3)))


SKD = {"ce": 1.0, "skd_features": 1.0, "skd_labels": {"weight": 0.05, "temperature": 4.0}, "skd_cluster": 0.01}


def test_skd_loss_is_the_weighted_sum_of_its_terms():
    model = tiny_model()
    loss = build_loss(LossSpec.parse(SKD, "loss"), 3, model=model)
    assert loss.weights == [1.0, 1.0, 0.05, 0.01] and loss.terms["skd_labels"].temperature == 4.0
    x, y = torch.randn(8, 5), torch.randint(0, 3, (8,))
    logits = model(x)
    total = loss(logits, y)
    pairs = loss.shadow.pairs()
    expected = (
        F.cross_entropy(logits, y)
        + sum(channel_spatial(f, g) for f, g in pairs) / 2
        + 0.01 * label_cluster(loss.shadow.penultimate, y)
    )  # epoch 0: no label term
    assert total.item() == pytest.approx(expected.item())


def skdbnn_spec(default_config, digits_dir, epochs: int):
    spec = Plan(default_config).stage("digits", "mlp", "skdbnn", 0, "train").spec
    return dataclasses.replace(spec, data=str(digits_dir), epochs=epochs, model=ModelSpec("mlp", {"hidden": [32, 32]}))


def test_skdbnn_stage_trains_and_resume_restores_the_label_bank(default_config, digits_dir, tmp_path, monkeypatch):
    spec = skdbnn_spec(default_config, digits_dir, 3)
    assert spec.loss.to_dict() == SKD and spec.binary.scaling == "libra_pb"
    run_stage(spec, tmp_path / "straight")
    straight = pd.read_csv(tmp_path / "straight/metrics.csv")
    assert straight["val_acc"].iloc[-1] > 80 and straight["binary_act_layers"].eq(1).all()

    ends = []

    original = SoftLabelBank.on_epoch_end

    def stop_in_third_epoch(self, epoch):  # an interruption after 2 saved epochs
        if len(ends) == 2:
            raise KeyboardInterrupt
        ends.append(1)
        original(self, epoch)

    with monkeypatch.context() as patch:
        patch.setattr(SoftLabelBank, "on_epoch_end", stop_in_third_epoch)
        with pytest.raises(KeyboardInterrupt):
            run_stage(spec, tmp_path / "resumed")
    saved = load_torch(tmp_path / "resumed/resume.pt")
    bank = saved["loss"]
    assert (
        saved["epochs_done"] == 2
        and bank["terms.skd_labels.valid"].all()
        and bank["terms.skd_labels.bank"].shape == (10, 10)
    )
    run_stage(spec, tmp_path / "resumed")
    resumed = pd.read_csv(tmp_path / "resumed/metrics.csv")
    pd.testing.assert_frame_equal(resumed.drop(columns="seconds"), straight.drop(columns="seconds"))
