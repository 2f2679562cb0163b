import numpy as np
import pytest

from nn_helpers import augment


def test_shift_moves_each_image_by_its_own_amount():
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[:, 10, 12] = 200
    out = augment.shift(images, dy=[2, -1, 0], dx=[-2, 0, 1])
    assert out.shape == (3, 28, 28) and out.dtype == np.uint8
    assert [tuple(np.argwhere(o)[0]) for o in out] == [(12, 10), (9, 12), (10, 13)]
    assert (out.sum(axis=(1, 2)) == 200).all()


def test_shift_fills_with_zeros_and_undoes_itself(mnist_train):
    images = mnist_train[0][:200]
    border = images.copy()
    border[:, 2:-2, 2:-2] = 0
    images = images[border.sum(axis=(1, 2)) == 0][:100]     # digits with no ink in the outer 2 pixels
    dy = np.random.default_rng(0).integers(-2, 3, len(images))
    dx = np.random.default_rng(1).integers(-2, 3, len(images))
    out = augment.shift(images, dy, dx)
    np.testing.assert_array_equal(augment.shift(out, -dy, -dx), images)  # nothing fell off
    assert np.array_equal(augment.shift(images, np.zeros(len(images)), np.zeros(len(images))), images)
    edge = augment.shift(np.full((1, 28, 28), 255, np.uint8), [2], [-1])[0]
    assert (edge[:2] == 0).all() and (edge[:, -1:] == 0).all() and (edge[2:, :-1] == 255).all()


def test_random_shift_stays_within_the_limit_and_is_seeded(mnist_train):
    images = mnist_train[0][:500]
    a = augment.random_shift(images, np.random.default_rng(0), max_shift=2)
    b = augment.random_shift(images, np.random.default_rng(0), max_shift=2)
    assert np.array_equal(a, b) and a.shape == images.shape and a.dtype == np.uint8
    rows = lambda im: np.argmax(im.sum(axis=2) > 0, axis=1)       # first row with ink
    moved = rows(a).astype(int) - rows(images)
    assert set(np.unique(moved)) <= set(range(-2, 3)) and len(np.unique(moved)) == 5


def test_affine_with_no_change_is_the_identity_and_a_whole_shift_is_a_shift(mnist_train):
    images = mnist_train[0][:20]
    zeros, ones = np.zeros(20), np.ones(20)
    np.testing.assert_array_equal(augment.affine(images, zeros, ones, zeros, zeros), images)
    dy, dx = np.full(20, 2), np.full(20, -1)
    np.testing.assert_array_equal(augment.affine(images, zeros, ones, dy, dx), augment.shift(images, dy, dx))


def test_affine_rotation_by_90_degrees_turns_a_bar():
    bar = np.zeros((1, 28, 28), dtype=np.uint8)
    bar[0, 13:15, 4:24] = 255                                        # horizontal bar through the centre
    turned = augment.affine(bar, [90], [1], [0], [0])[0]
    assert (turned[4:24, 13:15] == 255).all() and turned.sum() == bar.sum()
    small = augment.random_affine(bar, np.random.default_rng(0), max_degrees=10, max_scale=0.1)
    assert small.shape == bar.shape and small.dtype == np.uint8


def test_augment_rejects_feature_rows():
    with pytest.raises(ValueError, match="uint8 images"):
        augment.shift(np.zeros((2, 784), dtype=np.float32), [0, 0], [0, 0])
    with pytest.raises(ValueError, match="one shift per image"):
        augment.shift(np.zeros((2, 28, 28), dtype=np.uint8), [0], [0])
