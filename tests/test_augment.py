"""Batched on-device augmentation (docs/methods.md §0.7): crop offsets, padding modes, flip, seeding, and the
train loader applying it to train batches only."""

import pytest
import torch

from bnn.data import TensorLoader, load_split
from bnn.data.augment import Augment, crop
from bnn.errors import BnnError


def batch(n=6, c=2, h=5, w=7):
    return (torch.arange(n * c * h * w, dtype=torch.float32).view(n, c, h, w) + 1) / (n * c * h * w)


def test_crop_shifts_each_image_by_its_offsets():
    x = batch()
    top, left = torch.tensor([0, 1, 2, 3, 4, 2]), torch.tensor([4, 3, 2, 1, 0, 2])
    out = crop(x, top, left, padding=2)
    assert out.shape == x.shape
    for i in range(len(x)):
        dy, dx = int(top[i]) - 2, int(left[i]) - 2  # content moves by -offset
        shifted = torch.zeros_like(x[i])
        src = x[i][:, max(dy, 0) : 5 + min(dy, 0), max(dx, 0) : 7 + min(dx, 0)]
        shifted[:, max(-dy, 0) : max(-dy, 0) + src.shape[1], max(-dx, 0) : max(-dx, 0) + src.shape[2]] = src
        torch.testing.assert_close(out[i], shifted)
    torch.testing.assert_close(out[5], x[5])  # offset == padding is the identity


def test_edge_padding_repeats_the_border():
    x = batch(n=1)
    out = crop(x, torch.tensor([0]), torch.tensor([0]), padding=2, padding_mode="edge")
    torch.testing.assert_close(out[0, :, :3, :3], x[0, :, :1, :1].expand(-1, 3, 3))
    torch.testing.assert_close(out[0, :, 2:, 2:], x[0, :, :3, :5])


def test_flip_mirrors_about_half_of_a_batch_reproducibly():
    x = batch(n=400)
    flip = Augment(flip=True)
    out = flip(x, torch.Generator().manual_seed(3))
    mirrored = torch.tensor([torch.equal(o, i.flip(2)) for o, i in zip(out, x)])
    assert all(torch.equal(o, i) or m for o, i, m in zip(out, x, mirrored))
    assert 150 < mirrored.sum() < 250
    assert torch.equal(out, flip(x, torch.Generator().manual_seed(3)))
    assert not torch.equal(out, flip(x, torch.Generator().manual_seed(4)))


def test_random_crop_statistics_and_device():
    x = torch.ones(2000, 3, 8, 8, device="cpu")
    out = Augment(crop=4, flip=True)(x, torch.Generator(device=x.device).manual_seed(0))
    assert out.shape == x.shape and out.device == x.device
    # an 8x8 image cropped after padding 4: the mean number of kept pixels per row is 8 - E|shift| = 8 - 20/9
    kept = out[:, 0].sum((1, 2)) / 8
    assert abs(kept.mean().item() - (8 - 20 / 9) ** 2 / 8) < 0.1
    assert out.min() == 0 and out.max() == 1


@pytest.mark.parametrize(
    "setting,match",
    [
        ({"crop": -1}, "augment.crop"),
        ({"flip": "yes"}, "augment.flip"),
        ({"padding_mode": "reflect"}, "padding_mode"),
        ({"scale": 2}, "augment.scale"),
    ],
)
def test_bad_settings_are_one_line_errors(setting, match):
    with pytest.raises(BnnError, match=match):
        Augment.parse(setting)


def test_loader_augments_train_batches_reproducibly(digits_dir):
    split = load_split(digits_dir, "train")
    augment = Augment(crop=2, flip=True)

    def epoch(seed, epoch, aug=augment):
        loader = TensorLoader(split, 100, [0.5], [0.25], torch.device("cpu"), shuffle=True, seed=seed, augment=aug)
        loader.set_epoch(epoch)
        return [x for x, _ in loader]

    plain, first, again = epoch(1, 0, None), epoch(1, 0), epoch(1, 0)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], plain[0]) and first[0].shape == plain[0].shape
    assert not torch.equal(first[0], epoch(1, 1)[0])


def test_stage_trains_with_augment_and_checks_it(stage_spec, tmp_path):
    from bnn.train.run import run_stage

    result = run_stage(stage_spec(epochs=1, augment={"crop": 1, "flip": True, "padding_mode": "edge"}), tmp_path / "a")
    assert result["epochs"] == 1
    with pytest.raises(BnnError, match="augment.padding_mode"):
        run_stage(stage_spec(epochs=1, augment={"padding_mode": "mirror"}), tmp_path / "b")
