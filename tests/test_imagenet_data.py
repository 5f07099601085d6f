"""Tiny-ImageNet (official layout: folder, .zip, .tar.gz) and the streaming contract (ImageNet, image_folder
with stream: true) on small JPEG/PNG files written here: index, loader determinism across seeds, epochs and
worker counts, a real training stage and evaluation, and the one-line missing-data errors."""

import hashlib
import shutil
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from bnn.data import load_split, make_loader, prepare, read_meta
from bnn.data.augment import Augment
from bnn.errors import BnnError
from bnn.evaluation.evaluate import evaluate
from bnn.plan.experiments import Plan
from bnn.train.run import run_stage

WNIDS = ["n02", "n01", "n03"]  # unsorted, as wnids.txt is; classes are sorted
COLOURS = {"n01": (200, 30, 30), "n02": (30, 200, 30), "n03": (30, 30, 200)}


def tiny_imagenet(root):
    """tiny-imagenet-200 with 3 classes: 4 train images each (one greyscale), 2 val images each."""
    base = root / "tiny-imagenet-200"
    (base / "val" / "images").mkdir(parents=True)
    (base / "test" / "images").mkdir(parents=True)
    (base / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    (base / "words.txt").write_text("".join(f"{w}\tthing {w}\n" for w in WNIDS))
    for wnid in WNIDS:
        (base / "train" / wnid / "images").mkdir(parents=True)
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.JPEG\t0\t0\t10\t10\n")
        for i in range(4):
            image = Image.new("RGB", (64, 64), COLOURS[wnid])
            (image.convert("L") if i == 3 else image).save(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG")
    annotations = []
    for i, wnid in enumerate(WNIDS * 2):  # val_0 n02, val_1 n01, val_2 n03, val_3 n02, ...
        Image.new("RGB", (64, 64), COLOURS[wnid]).save(base / "val" / "images" / f"val_{i}.JPEG")
        annotations.append(f"val_{i}.JPEG\t{wnid}\t0\t0\t63\t63\n")
    (base / "val" / "val_annotations.txt").write_text("".join(annotations))
    Image.new("RGB", (64, 64)).save(base / "test" / "images" / "test_0.JPEG")
    return base


@pytest.mark.parametrize("form", ["folder", "zip", "tar.gz"])
def test_tiny_imagenet_official_layout(tmp_path, form):
    base = tiny_imagenet(tmp_path / "src")
    root = tmp_path / "root"
    root.mkdir()
    if form == "folder":
        shutil.move(base, root / base.name)
    elif form == "zip":
        with zipfile.ZipFile(root / f"{base.name}.zip", "w") as archive:
            for path in sorted(base.rglob("*")):
                archive.write(path, path.relative_to(base.parent).as_posix())
    else:
        with tarfile.open(root / f"{base.name}.tar.gz", "w:gz") as archive:
            archive.add(base, arcname=base.name)
    meta = prepare("tiny_imagenet", tmp_path / "out", str(root), val_size=3)
    assert meta["classes"] == ["n01", "n02", "n03"] and meta["shape"] == [3, 64, 64] and meta["kind"] == "tensors"
    assert meta["splits"] == {"train": 9, "val": 3, "test": 6} and meta["source"]["test_split"] == "val"
    test = load_split(tmp_path / "out", "test")
    assert test.labels.tolist() == [1, 0, 2, 1, 0, 2]  # val_0..val_5 by val_annotations.txt, sorted wnid order
    for image, label in zip(test.images, test.labels):
        colour = torch.tensor(COLOURS[meta["classes"][label]]).view(3, 1, 1)
        assert (image.int() - colour).abs().max() <= 3  # JPEG of a flat colour
    train = load_split(tmp_path / "out", "train")
    assert train.images.shape == (9, 3, 64, 64) and set(train.labels.tolist()) == {0, 1, 2}
    if form != "folder":
        archive = next(root.iterdir())
        assert meta["source"]["files"] == {archive.name: hashlib.sha256(archive.read_bytes()).hexdigest()}


def imagenet(root, per_class=6, val=2, fmt="JPEG"):
    """ImageNet layout with 3 classes of small noise images of varied sizes."""
    rng = np.random.default_rng(0)
    for split, n in (("train", per_class), ("val", val)):
        for wnid in sorted(COLOURS):
            (root / split / wnid).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (12 + 2 * i, 16, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / wnid / f"{wnid}_{i}.{fmt}")


@pytest.fixture(scope="module")
def streamed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("imagenet")
    imagenet(tmp / "imagenet")
    prepare("imagenet", tmp / "out", str(tmp), val_size=3, options={"size": 8, "num_classes": 3})
    return tmp / "out"


def test_imagenet_prepare_writes_the_streaming_index(streamed):
    meta = read_meta(streamed)
    assert meta["kind"] == "streaming" and meta["shape"] == [3, 8, 8] and meta["classes"] == ["n01", "n02", "n03"]
    assert meta["splits"] == {"train": 15, "val": 3, "test": 6} and meta["mean"] == [0.485, 0.456, 0.406]
    assert meta["source"]["test_split"] == "val" and set(meta["source"]["index_sha256"]) == {"train", "test"}
    test = torch.load(streamed / "test.pt", weights_only=True)
    assert test["files"][0] == "val/n01/n01_0.JPEG" and test["labels"].tolist() == [0, 0, 1, 1, 2, 2]
    train, val = (torch.load(streamed / f"{s}.pt", weights_only=True) for s in ("train", "val"))
    assert sorted(train["files"] + val["files"]) == sorted(f"train/{w}/{w}_{i}.JPEG" for w in COLOURS for i in range(6))
    assert sorted(val["labels"].tolist()) == [0, 1, 2]  # stratified hold-out


def batches(loader, epoch):
    loader.set_epoch(epoch)
    return [(x.clone(), y.clone()) for x, y in loader]


def test_stream_loader_is_seeded_and_independent_of_workers(streamed):
    meta = read_meta(streamed)
    cpu = torch.device("cpu")
    loaders = {w: make_loader(streamed, meta, "train", 4, cpu, train=True, seed=1, workers=w) for w in (0, 2)}
    assert len(loaders[0]) == 3  # 15 images, last partial batch dropped
    one, two = batches(loaders[0], 0), batches(loaders[2], 0)
    assert [x.shape for x, _ in one] == [(4, 3, 8, 8)] * 3 and one[0][1].dtype == torch.int64
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(one, two))
    again, next_epoch = batches(loaders[0], 0), batches(loaders[0], 1)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(one, again))
    assert not torch.equal(torch.cat([x for x, _ in one]), torch.cat([x for x, _ in next_epoch]))
    other_seed = make_loader(streamed, meta, "train", 4, cpu, train=True, seed=2, workers=0)
    assert not torch.equal(one[0][0], batches(other_seed, 0)[0][0])
    test = batches(make_loader(streamed, meta, "test", 4, cpu, workers=0), 0)
    assert [len(y) for _, y in test] == [4, 2] and torch.cat([y for _, y in test]).tolist() == [0, 0, 1, 1, 2, 2]
    assert torch.equal(test[0][0], batches(make_loader(streamed, meta, "test", 4, cpu, workers=2), 3)[0][0])


def test_image_folder_stream_estimates_mean_and_std(tmp_path):
    for split, n in (("train", 4), ("test", 1)):
        for wnid, colour in COLOURS.items():
            (tmp_path / "tree" / split / wnid).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (10, 14), colour).save(tmp_path / "tree" / split / wnid / f"{i}.png")
    options = {"path": "tree", "size": 6, "num_classes": 3, "stream": True}
    meta = prepare("image_folder", tmp_path / "out", str(tmp_path), val_size=3, options=options)
    assert meta["kind"] == "streaming" and meta["splits"] == {"train": 9, "val": 3, "test": 3}
    colours = np.array(list(COLOURS.values())) / 255.0  # each class is a third of every sample
    assert meta["mean"] == pytest.approx(colours.mean(0).tolist(), abs=1e-6)
    assert meta["std"] == pytest.approx(colours.std(0).tolist(), abs=1e-6)
    tarred = tmp_path / "tree.tar.gz"
    with tarfile.open(tarred, "w:gz") as archive:
        archive.add(tmp_path / "tree", arcname="tree")
    with pytest.raises(BnnError, match=r"^dataset_options.image_folder.path: .* is not a folder"):
        prepare("image_folder", tmp_path / "bad", str(tmp_path), options={**options, "path": tarred.name})


def test_a_stage_trains_and_evaluates_on_a_streamed_dataset(streamed, stage_spec, tmp_path):
    spec = stage_spec(
        data=str(streamed),
        model={"arch": "convnet", "channels": [8, 8]},
        epochs=2,
        batch_size=4,
        workers=2,
        run={"dataset": "imagenet", "model": "convnet", "method": "float", "seed": 0, "stage": "train"},
    )
    result = run_stage(spec, tmp_path)
    assert result["epochs"] == 2 and (tmp_path / "checkpoint.pt").is_file()
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,")
    record = evaluate(tmp_path / "checkpoint.pt", streamed)
    assert record["test_images"] == 6 and 0.0 <= record["top1"] <= 100.0 and record["binary_check"]["ok"]
    with pytest.raises(BnnError, match=r"^spec.augment: imagenet is streamed"):
        make_loader(streamed, read_meta(streamed), "train", 4, torch.device("cpu"), train=True, augment=Augment(crop=4))


def test_missing_data_is_one_line_naming_files_and_keys(tmp_path):
    for dataset, expected, key in [
        ("imagenet", "imagenet/{train/<wnid>/*.JPEG", "dataset_options.imagenet.path:"),
        ("tiny_imagenet", "tiny-imagenet-200/{wnids.txt", "data_root:"),
    ]:
        with pytest.raises(BnnError) as error:
            prepare(dataset, tmp_path / "out", str(tmp_path))
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"datasets: {dataset} needs {expected}")
        assert key in message and repr(str(tmp_path)) in message


def test_plan_accepts_imagenet_and_refuses_batched_augment(default_config):
    config = dict(
        default_config,
        datasets=["imagenet"],
        methods=["float"],
        dataset_options={"imagenet": {"size": 32, "val_size": 10000}},
    )
    stage = Plan(config).stage("imagenet", config["models"][0], "float", config["seeds"][0], "train")
    assert stage.spec.data == "results/data/imagenet"
    with pytest.raises(BnnError, match=r"^recipes.float.stages\[0\].augment: imagenet is streamed"):
        Plan(dict(config, train={**config["train"], "augment": {"flip": True}}))
    with pytest.raises(BnnError, match=r"^train.workers: -1 must be an integer >= 0"):
        Plan(dict(config, train={**config["train"], "workers": -1}))
