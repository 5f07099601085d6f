import json

import torch

from bnn.data import TensorLoader, load_split, prepare


def test_digits_contract(digits_dir):
    meta = json.loads((digits_dir / "meta.json").read_text())
    assert meta["splits"] == {"train": 1221, "val": 216, "test": 360}
    assert meta["shape"] == [1, 8, 8] and meta["num_classes"] == 10 and len(meta["classes"]) == 10
    assert set(meta["source"]["sha256"]) == {"train", "test"}
    for split, n in meta["splits"].items():
        data = load_split(digits_dir, split)
        assert data.images.dtype == torch.uint8 and data.images.shape == (n, 1, 8, 8)
        assert data.labels.dtype == torch.int64 and set(data.labels.tolist()) == set(range(10))
    train = load_split(digits_dir, "train").images.float() / 255
    assert abs(train.mean().item() - meta["mean"][0]) < 1e-4


def test_split_is_fixed_by_its_seed(digits_dir, tmp_path):
    prepare("digits", tmp_path / "same", split_seed=0, val_size=0.15)
    prepare("digits", tmp_path / "other", split_seed=1, val_size=0.15)
    reference = load_split(digits_dir, "val").images
    assert torch.equal(load_split(tmp_path / "same", "val").images, reference)
    assert not torch.equal(load_split(tmp_path / "other", "val").images, reference)


def test_val_size_as_a_count(tmp_path):
    meta = prepare("digits", tmp_path / "d", split_seed=0, val_size=100)
    assert meta["splits"]["val"] == 100 and meta["splits"]["train"] == 1337


def test_loader_normalises_and_shuffles_reproducibly(digits_dir):
    split = load_split(digits_dir, "train")
    loader = TensorLoader(split, 100, [0.5], [0.25], torch.device("cpu"), shuffle=True, drop_last=True, seed=7)
    loader.set_epoch(3)
    first = [y for _, y in loader]
    loader.set_epoch(3)
    again = [y for _, y in loader]
    loader.set_epoch(4)
    other = [y for _, y in loader]
    assert len(first) == len(loader) == 12 and all(len(y) == 100 for y in first)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    x, _ = next(iter(TensorLoader(split, 5, [0.5], [0.25], torch.device("cpu"))))
    torch.testing.assert_close(x, (split.images[:5].float() / 255 - 0.5) / 0.25)
