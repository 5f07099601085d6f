"""Each reader on small files written here in the real formats: IDX (.gz and flat/torchvision layouts),
CIFAR pickle batches, SVHN .mat, ImageFolder folders and .tar.gz; checksums, class names, errors."""

import gzip
import hashlib
import pickle
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from bnn.data import load_split, prepare
from bnn.data.datasets import dataset_info
from bnn.errors import BnnError

RNG = np.random.default_rng(0)


def write_idx(path, array, compress=True):
    codes = {np.dtype(np.uint8): 0x08}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def mnist_files(folder, n_train=40, n_test=20, compress=True):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    files = {stem: write_idx(folder / stem, a, compress) for stem, a in arrays.items()}
    return arrays, files


@pytest.mark.parametrize("layout,compress", [("", True), ("MNIST/raw", False)])
def test_mnist_reads_idx_files(tmp_path, layout, compress):
    arrays, files = mnist_files(tmp_path / "root" / layout, compress=compress)
    meta = prepare("mnist", tmp_path / "out", str(tmp_path / "root"), val_size=10)
    assert meta["splits"] == {"train": 30, "val": 10, "test": 20} and meta["shape"] == [1, 28, 28]
    assert meta["classes"] == [str(d) for d in range(10)]
    sha = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files.values()}
    assert meta["source"]["files"] == sha
    test = load_split(tmp_path / "out", "test")
    assert torch.equal(test.images[:, 0], torch.from_numpy(arrays["t10k-images-idx3-ubyte"]))
    assert test.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()


def test_fashion_mnist_class_names(tmp_path):
    mnist_files(tmp_path / "fashion_mnist")
    meta = prepare("fashion_mnist", tmp_path / "out", str(tmp_path), val_size=10)
    assert meta["classes"][0] == "T-shirt/top" and meta["classes"][9] == "Ankle boot"


def test_missing_files_are_one_line_errors(tmp_path):
    for dataset, expected in [
        ("mnist", "train-images-idx3-ubyte(.gz)"),
        ("cifar10", "cifar-10-batches-py"),
        ("svhn", "train_32x32.mat"),
    ]:
        with pytest.raises(BnnError) as error:
            prepare(dataset, tmp_path / "out", str(tmp_path), options={"download": False})
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"datasets: {dataset} needs ")
        assert expected in message and "set data_root:" in message and repr(str(tmp_path)) in message


def test_offline_download_becomes_the_missing_error(tmp_path, monkeypatch):
    import torchvision

    def offline(*args, **kwargs):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\n<urlopen error Name or service not known>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(BnnError, match=r"^datasets: mnist needs .*download failed: Error downloading") as error:
        prepare("mnist", tmp_path / "out", str(tmp_path))
    assert "\n" not in str(error.value)


def cifar_batches(folder, n=20):
    folder.mkdir(parents=True)
    names = [f"c{i}" for i in range(10)]
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batches[name] = {
            b"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": list(RNG.integers(0, 10, n)),
        }
        (folder / name).write_bytes(pickle.dumps(batches[name]))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in names]}))
    return batches, names


def test_cifar10_reads_pickle_batches(tmp_path):
    batches, names = cifar_batches(tmp_path / "cifar-10-batches-py")
    meta = prepare("cifar10", tmp_path / "out", str(tmp_path), val_size=20)
    assert meta["classes"] == names and meta["splits"] == {"train": 80, "val": 20, "test": 20}
    assert set(meta["source"]["files"]) == {*batches, "batches.meta"}
    test = load_split(tmp_path / "out", "test")
    expected = batches["test_batch"][b"data"].reshape(-1, 3, 32, 32)
    assert (
        torch.equal(test.images, torch.from_numpy(expected))
        and test.labels.tolist() == batches["test_batch"][b"labels"]
    )


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, n in (("train", 300), ("test", 50)):
        (folder / name).write_bytes(
            pickle.dumps(
                {
                    b"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
                    b"fine_labels": [i % 100 for i in range(n)],
                    b"coarse_labels": [i % 20 for i in range(n)],
                }
            )
        )
    (folder / "meta").write_bytes(pickle.dumps({b"fine_label_names": [f"f{i}".encode() for i in range(100)]}))
    meta = prepare("cifar100", tmp_path / "out", str(tmp_path), val_size=100)
    assert meta["num_classes"] == 100 and meta["classes"][42] == "f42" and meta["splits"]["test"] == 50


def test_svhn_reads_mat_files(tmp_path):
    savemat = pytest.importorskip("scipy.io").savemat
    for name, n in (("train_32x32.mat", 30), ("test_32x32.mat", 10)):
        savemat(
            tmp_path / name,
            {"X": RNG.integers(0, 256, (32, 32, 3, n), dtype=np.uint8), "y": (np.arange(n) % 10 + 1).reshape(-1, 1)},
        )
    meta = prepare("svhn", tmp_path / "out", str(tmp_path), val_size=10)
    test = load_split(tmp_path / "out", "test")
    assert meta["shape"] == [3, 32, 32] and test.labels.tolist() == [(i + 1) % 10 for i in range(10)]


def image_tree(root, size=8, classes=("cat", "dog", "emu"), per_class=4, test="test"):
    """An ImageFolder tree of PNGs whose pixel value encodes (class, index); returns the expected arrays."""
    expected = {}
    for split, n in (("train", per_class), (test, 2)):
        for c, cls in enumerate(classes):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                value = 40 * c + 5 * i
                Image.new("RGB", (size, size), (value, value + 1, value + 2)).save(root / split / cls / f"{i:03}.png")
                expected.setdefault(split, []).append((value, c))
    return expected


@pytest.mark.parametrize("archive", [False, True])
def test_image_folder_folder_and_tar_gz(tmp_path, archive):
    expected = image_tree(tmp_path / "tree", test="val")
    path = tmp_path / "tree"
    if archive:
        path = tmp_path / "tree.tar.gz"
        with tarfile.open(path, "w:gz") as tar:
            tar.add(tmp_path / "tree", arcname="tree")
    options = {"path": path.name, "size": 8, "num_classes": 3}
    meta = prepare("image_folder", tmp_path / "out", str(tmp_path), val_size=3, options=options)
    assert meta["classes"] == ["cat", "dog", "emu"] and meta["shape"] == [3, 8, 8]
    assert meta["splits"] == {"train": 9, "val": 3, "test": 6} and meta["source"]["test_split"] == "val"
    test = load_split(tmp_path / "out", "test")
    assert test.images[:, :, 0, 0].tolist() == [[v, v + 1, v + 2] for v, _ in expected["val"]]
    assert test.labels.tolist() == [c for _, c in expected["val"]]
    if archive:
        assert meta["source"]["files"] == {"tree.tar.gz": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_image_folder_resizes_and_checks_classes(tmp_path):
    image_tree(tmp_path / "tree", size=12)
    options = {"path": str(tmp_path / "tree"), "size": 6, "num_classes": 3, "channels": 1}
    prepare("image_folder", tmp_path / "out", None, val_size=3, options=options)
    assert load_split(tmp_path / "out", "train").images.shape == (9, 1, 6, 6)
    with pytest.raises(BnnError, match="num_classes: 4 but .* has 3 classes"):
        prepare("image_folder", tmp_path / "bad", None, val_size=3, options={**options, "num_classes": 4})


def test_cifar10_falls_back_to_the_jpeg_archive(tmp_path):
    classes = ("airplane", "automobile")
    image_tree(tmp_path / "tree", size=32, classes=classes)
    (tmp_path / "cifar10-jpg").mkdir()
    with tarfile.open(tmp_path / "cifar10-jpg" / "cifar10-jpg.tar.gz", "w:gz") as tar:
        for split in ("train", "test"):
            tar.add(tmp_path / "tree" / split, arcname=split)
    meta = prepare("cifar10", tmp_path / "out", str(tmp_path), val_size=2)
    assert meta["classes"] == list(classes) and meta["splits"]["test"] == 4


def test_image_folder_shape_comes_from_its_options():
    info = dataset_info("image_folder", {"path": "x", "size": 64, "num_classes": 200})
    assert info.shape == (3, 64, 64) and info.num_classes == 200
    with pytest.raises(BnnError, match=r"^dataset_options.image_folder.size: missing"):
        dataset_info("image_folder", {"path": "x", "num_classes": 2})
    with pytest.raises(BnnError, match=r"^dataset_options.mnist.size: not an option of mnist"):
        dataset_info("mnist", {"size": 3})


def test_dataset_val_size_overrides_the_split_default(tmp_path):
    mnist_files(tmp_path)
    meta = prepare("mnist", tmp_path / "out", str(tmp_path), val_size=0.5, options={"val_size": 10})
    assert meta["splits"]["val"] == 10 and meta["val_size"] == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 0}, r"^dataset_options.image_folder.size: 0 must be an integer >= 1"),
        ({"channels": 2}, r"^dataset_options.image_folder.channels: 2 must be one of 1, 3"),
        ({"stream": "yes"}, r"^dataset_options.image_folder.stream: 'yes' must be true or false"),
        ({"sizes": 8}, r"^dataset_options.image_folder.sizes: unknown key \(did you mean 'size'\?\)"),
    ],
)
def test_dataset_options_are_checked_by_their_declarations(options, message):
    """bnn prepare --options and the plan check an option the same way (bnn.data.datasets.DatasetOptions)."""
    with pytest.raises(BnnError, match=message):
        dataset_info("image_folder", {"path": "x", "size": 8, "num_classes": 2, **options})
