import matplotlib.pyplot as plt
import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images_in(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_plot_digits_titles_mark_mistakes(mnist_test):
    images, labels = mnist_test
    pred = labels[:12].copy()
    pred[3] = (pred[3] + 1) % 10
    fig = plots.plot_digits(images[:12], labels[:12], pred, ncols=6, title="Test digits")
    assert len(images_in(fig)) == 12 and fig._suptitle.get_text() == "Test digits"
    titles = [ax.title for ax in fig.axes if ax.get_images()]
    assert titles[3].get_text() == f"{labels[3]} → {pred[3]}" and titles[3].get_color() == "crimson"
    assert titles[0].get_color() == "black"
    assert np.array_equal(images_in(fig)[5].get_array(), images[5])


def test_plot_history_draws_every_epoch():
    history = nn.History(epoch=[1, 2, 3], train_loss=[0.9, 0.5, 0.3], train_acc=[0.7, 0.8, 0.9],
                         val_loss=[1.0, 0.6, 0.4], val_acc=[0.6, 0.75, 0.85], seconds=[1, 1, 1])
    fig = plots.plot_history(history)
    ax_loss, ax_acc = fig.axes
    assert [list(line.get_ydata()) for line in ax_loss.lines] == [[0.9, 0.5, 0.3], [1.0, 0.6, 0.4]]
    assert ax_acc.get_ylabel() == "accuracy" and len(ax_acc.lines) == 2
    assert [line.get_linestyle() for line in ax_loss.lines] == ["-", "--"]  # solid training, dashed validation
    plots.plot_history(history, label="run 2", axes=fig.axes)
    legend = [t.get_text() for t in ax_loss.get_legend().get_texts()]
    assert len(ax_loss.lines) == 4 and legend == ["run 2", "training (solid)", "validation (dashed)"]
    assert ax_loss.lines[2].get_color() == ax_loss.lines[3].get_color() != ax_loss.lines[0].get_color()


def test_plot_history_log_scale_shows_the_error_rate():
    history = nn.History(epoch=[1, 2], train_loss=[0.3, 0.1], train_acc=[0.9, 0.99],
                         val_loss=[0.4, 0.2], val_acc=[0.88, 0.98], seconds=[1, 1])
    ax_loss, ax_acc = plots.plot_history(history, log=True).axes
    assert ax_acc.get_yscale() == "log" and np.allclose(ax_acc.lines[0].get_ydata(), [0.1, 0.01])
    assert all(float(tick).is_integer() for tick in ax_acc.get_xticks())   # whole epochs only


def test_plot_confusion_matrix_writes_counts():
    C = np.array([[5, 1], [0, 7]])
    fig = plots.plot_confusion_matrix(C)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["1", "5", "7"]
    assert fig.axes[0].get_xlabel() == "predicted digit"


def test_plot_weights_shows_columns_as_images():
    W1 = nn.init_params([784, 20, 10])["W1"]
    fig = plots.plot_weights(W1, n=10, ncols=5)
    shown = images_in(fig)
    assert len(shown) == 10 and np.allclose(shown[2].get_array(), W1[:, 2].reshape(28, 28))


def test_plot_weights_draws_every_unit_on_one_scale_with_a_colour_bar():
    W1 = nn.init_params([784, 20, 10])["W1"]
    W1[:, 3] *= 5                                    # one unit with larger weights must look darker, not the same
    fig = plots.plot_weights(W1, n=8, ncols=4)
    lim = np.abs(W1[:, :8]).max()
    assert {im.get_clim() for im in images_in(fig)} == {(-lim, lim)}
    assert all(im.get_cmap().name == "RdBu_r" for im in images_in(fig))
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)


def test_plot_mistakes_titles_give_probability():
    images = np.zeros((3, 784))
    probs = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    fig = plots.plot_mistakes(images, np.array([0, 0, 1]), probs, indices=[0])
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]
    assert titles == ["true 0, said 1\np = 0.900"]


def split_at_x1_zero():
    """A network 2-2 with no hidden layer: class 0 where x1 > 0, class 1 where x1 < 0 (logits 10 x1, -10 x1)."""
    return {"W1": np.array([[10.0, -10.0], [0.0, 0.0]], dtype=np.float32), "b1": np.zeros(2, dtype=np.float32)}


def test_plot_class_regions_colours_each_side_by_its_class_and_draws_the_boundary():
    from nn_helpers.widgets.boundary import COLOURS

    X = np.array([[0.5, 0.2], [-0.7, 1.0], [1.2, -1.1]], dtype=np.float32)
    y = np.array([0, 1, 0])
    fig = plots.plot_class_regions(split_at_x1_zero(), X, y, grid=50, title="split")
    ax = fig.axes[0]
    image = images_in(fig)[0].get_array()
    assert image.shape == (50, 50, 3) and ax.get_title() == "split"
    pale = lambda k: 0.45 * COLOURS[k] + 0.55                              # what a pixel sure of class k shows
    assert np.allclose(image[:, -1], pale(0), atol=1e-3) and np.allclose(image[:, 0], pale(1), atol=1e-3)
    points = ax.collections[-1]                                             # the training points, drawn last
    assert np.allclose(points.get_offsets(), X) and np.allclose(points.get_facecolors()[:, :3], COLOURS[y])
    boundary = np.concatenate([path.vertices for c in ax.collections[:-1] for path in c.get_paths()])
    assert len(boundary) > 0 and np.allclose(boundary[:, 0], 0.0, atol=0.05)   # the line x1 = 0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training points"]


def test_plot_class_regions_draws_held_out_points_into_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    X_test = np.zeros((4, 2), dtype=np.float32)
    out = plots.plot_class_regions(split_at_x1_zero(), X_test[:1], np.array([1]), X_test=X_test,
                                   y_test=np.array([0, 1, 0, 1]), ax=axes[1], lines=False)
    assert out is fig and not axes[0].collections
    assert [len(c.get_offsets()) for c in axes[1].collections] == [1, 4]     # no boundary lines: points only
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["training points", "held-out points"]


def test_plot_class_regions_says_which_networks_it_draws():
    with pytest.raises(ValueError, match="784 inputs.*2 inputs"):
        plots.plot_class_regions(nn.init_params([784, 10]), np.zeros((1, 2)), np.zeros(1, dtype=int))
    with pytest.raises(ValueError, match="10 classes"):
        plots.plot_class_regions(nn.init_params([2, 10]), np.zeros((1, 2)), np.zeros(1, dtype=int))
