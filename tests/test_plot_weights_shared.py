"""plots.plot_weights_shared: several networks' first-layer weights on one colour scale (notebook 08)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nn_helpers import plots  # noqa: E402


def test_one_scale_for_every_image_and_a_colour_bar():
    rng = np.random.default_rng(0)
    big, small = rng.normal(scale=0.1, size=(784, 16)), rng.normal(scale=0.01, size=(784, 16))
    fig = plots.plot_weights_shared({"big": big, "small": small}, n=4, title="t")
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 8                                      # 2 rows of 4 units
    lim = np.abs(big[:, :4]).max()
    assert all(np.allclose(im.get_clim(), (-lim, lim)) for im in images)
    colorbars = [ax for ax in fig.axes if ax.get_ylabel() == "weight"]
    assert len(colorbars) == 1
    assert [ax.get_ylabel() for ax in fig.axes[:8:4]] == ["big", "small"]
    plt.close(fig)
