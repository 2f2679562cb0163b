import gzip

import numpy as np
import pandas as pd
import pytest

import nn_helpers as nn
from nn_helpers.data import MNIST_FILES


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic 0x0000080N, the dimensions, the data."""
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


# ---- the real data -------------------------------------------------------------------------------

def test_train_split_is_the_real_mnist(mnist_train):
    images, labels = mnist_train
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert images.max() == 255 and images.min() == 0


def test_test_split_is_the_real_mnist(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 28, 28)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_unknown_split():
    with pytest.raises(ValueError, match=r"split='validation'; expected 'train' or 'test'"):
        nn.load_mnist("validation")


# ---- the IDX parser ------------------------------------------------------------------------------

def test_idx_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    for name, array in [("img.gz", images), ("lab.gz", labels)]:
        (tmp_path / name).write_bytes(gzip.compress(idx_bytes(array)))
        assert np.array_equal(nn.load_idx(tmp_path / name), array)
    (tmp_path / "plain-idx").write_bytes(idx_bytes(labels))
    assert np.array_equal(nn.load_idx(tmp_path / "plain-idx"), labels)


def test_truncated_gzip(tmp_path):
    raw = gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: not a valid gzip file .*truncated or corrupted"):
        nn.load_idx(path)


def test_corrupted_gzip(tmp_path):
    raw = bytearray(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8))))
    raw[-6] ^= 0xFF  # flip bits in the CRC-32 of the gzip trailer
    path = tmp_path / "labels.gz"
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=r"labels\.gz: not a valid gzip file"):
        nn.load_idx(path)


def test_wrong_magic_number(tmp_path):
    raw = bytearray(idx_bytes(np.zeros(4, np.uint8)))
    raw[3] = 0x05
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(ValueError, match=r"bad\.gz: magic number is 2053 \(0x00000805\); expected 2051 .* or 2049"):
        nn.load_idx(path)


def test_data_shorter_than_header_announces(tmp_path):
    raw = idx_bytes(np.zeros((2, 28, 28), np.uint8))[:-10]
    with pytest.raises(ValueError, match=r"announces shape \(2, 28, 28\).*1584 bytes.*has 1574 bytes.*truncated"):
        nn.parse_idx(raw, "x")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz: missing"):
        nn.load_mnist("train", data_dir=tmp_path)


def test_checksum_mismatch(tmp_path):
    images, labels = np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)
    for name, array in zip(MNIST_FILES["test"], [images, labels]):
        (tmp_path / name).write_bytes(gzip.compress(idx_bytes(array)))
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte\.gz: checksum mismatch: SHA-256 is [0-9a-f]{64}, "
                                         r"expected 1a1a05ea.*not the original MNIST"):
        nn.load_mnist("test", data_dir=tmp_path)


# ---- CSV ---------------------------------------------------------------------------------------

@pytest.fixture
def digits():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8), np.array([3, 0, 9, 7], np.uint8)


def write_csv(path, images, labels, header):
    frame = pd.DataFrame(images.reshape(len(images), -1), columns=[f"pixel{i}" for i in range(784)])
    frame.insert(0, "label", labels)
    frame.to_csv(path, index=False, header=header)


@pytest.mark.parametrize("header", [True, False], ids=["kaggle-train.csv", "headerless-mnist_train.csv"])
def test_csv_round_trip(tmp_path, digits, header):
    images, labels = digits
    write_csv(tmp_path / "d.csv", images, labels, header)
    got_images, got_labels = nn.load_csv(tmp_path / "d.csv")
    assert got_images.dtype == np.uint8 and got_images.shape == (4, 28, 28)
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)


def test_csv_wrong_number_of_columns(tmp_path, digits):
    images, labels = digits
    frame = pd.DataFrame(images.reshape(4, -1)[:, :783])
    frame.insert(0, "label", labels)
    frame.to_csv(tmp_path / "test.csv", index=False, header=False)
    with pytest.raises(ValueError, match=r"test\.csv: 784 columns; expected 785 \(a label, then 784 pixels\)"):
        nn.load_csv(tmp_path / "test.csv")


def test_csv_kaggle_test_layout_is_explained(tmp_path, digits):
    images, _ = digits
    pd.DataFrame(images.reshape(4, -1), columns=[f"pixel{i}" for i in range(784)]).to_csv(tmp_path / "test.csv",
                                                                                            index=False)
    with pytest.raises(ValueError, match=r"test\.csv: the header starts with 'pixel0' and has no 'label' column: "
                                         r"this is Kaggle's test\.csv"):
        nn.load_csv(tmp_path / "test.csv")


def test_csv_missing_values(tmp_path, digits):
    images, labels = digits
    write_csv(tmp_path / "d.csv", images, labels, True)
    lines = (tmp_path / "d.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[100] = ""
    lines[3] = ",".join(cells)
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"d\.csv: missing values in 1 row\(s\), first at data row 2"):
        nn.load_csv(tmp_path / "d.csv")


def test_csv_pixel_out_of_range(tmp_path, digits):
    images, labels = digits
    write_csv(tmp_path / "d.csv", images, labels, False)
    frame = pd.read_csv(tmp_path / "d.csv", header=None)
    frame.iloc[1, 50] = 300
    frame.to_csv(tmp_path / "d.csv", index=False, header=False)
    with pytest.raises(ValueError, match=r"d\.csv: pixel value 300 at data row 1; pixels must be in 0\.\.255"):
        nn.load_csv(tmp_path / "d.csv")


def test_csv_label_out_of_range(tmp_path, digits):
    images, labels = digits
    write_csv(tmp_path / "d.csv", images, np.array([3, 0, 12, 7]), True)
    with pytest.raises(ValueError, match=r"d\.csv: label 12 at data row 2; labels must be digits 0\.\.9"):
        nn.load_csv(tmp_path / "d.csv")


# ---- preprocessing -------------------------------------------------------------------------------

def test_to_features_flattens_and_scales(digits):
    images, _ = digits
    X = nn.to_features(images)
    assert X.shape == (4, 784) and X.dtype == np.float32
    assert np.allclose(X[1, 28 * 5 + 3], images[1, 5, 3] / 255)
    assert 0 <= X.min() and X.max() <= 1


def test_train_val_split_is_a_seeded_partition():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    Xtr, ytr, Xv, yv = nn.train_val_split(X, y, n_val=3, seed=1)
    assert Xtr.shape == (7, 2) and Xv.shape == (3, 2)
    assert sorted(np.concatenate([ytr, yv]).tolist()) == list(range(10))
    assert np.array_equal(Xv[:, 0] // 2, yv)
    assert np.array_equal(nn.train_val_split(X, y, 3, seed=1)[3], yv)
    with pytest.raises(ValueError, match="n_val=10; expected between 1 and 9"):
        nn.train_val_split(X, y, n_val=10)
