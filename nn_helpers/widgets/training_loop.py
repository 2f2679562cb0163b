"""Notebook 05: gradient descent, with and without momentum, on a 2-D quadratic bowl.

The bowl J(theta) = 1/2 (a_1 theta_1^2 + a_2 theta_2^2) has the gradient (a_1 theta_1, a_2 theta_2), so
each coordinate of plain gradient descent is multiplied by (1 - eta a_j) per step: it shrinks when
0 < eta < 2 / a_j, oscillates in sign when eta > 1 / a_j, and grows when eta > 2 / a_j. The loss
therefore grows when eta > 2 / a_max. With momentum (u <- beta u + grad J, theta <- theta - eta u) the
limit moves to eta < 2 (1 + beta) / a_max.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ._panel import Panel, slider_style

#: The bowls the panel offers: curvatures (a_1, a_2).
BOWLS = {"round: a = (1, 4)": (1.0, 4.0), "elongated: a = (0.2, 4)": (0.2, 4.0)}
#: Where every run starts, and the loss at which a run counts as arrived.
START, TOL = (-4.0, 2.0), 1e-3


def bowl_loss(a, theta) -> np.ndarray:
    """J = 1/2 sum_j a_j theta_j^2 for ``theta`` of shape (..., 2)."""
    theta = np.asarray(theta, dtype=np.float64)
    return 0.5 * (theta**2 @ np.asarray(a, dtype=np.float64))


def bowl_path(a, lr: float, beta: float = 0.0, steps: int = 40, start=START) -> np.ndarray:
    """The points theta_0 .. theta_steps (steps + 1, 2) of gradient descent on the bowl with curvatures
    ``a`` (2,): u <- beta u + grad J(theta), theta <- theta - lr u (beta = 0: plain gradient descent).
    Stops early (fewer rows) once a coordinate exceeds 1e6, so a diverging run does not overflow."""
    a = np.asarray(a, dtype=np.float64)
    theta, u = np.array(start, dtype=np.float64), np.zeros(2)
    path = [theta.copy()]
    for _ in range(steps):
        u = beta * u + a * theta
        theta = theta - lr * u
        path.append(theta.copy())
        if np.abs(theta).max() > 1e6:
            break
    return np.array(path)


def steps_to(a, lr: float, beta: float = 0.0, tol: float = TOL, max_steps: int = 10_000, start=START):
    """The first step t at which J(theta_t) < ``tol``, or None if it does not happen in ``max_steps``."""
    losses = bowl_loss(a, bowl_path(a, lr, beta, max_steps, start))
    below = np.flatnonzero(losses < tol)
    return int(below[0]) if below.size else None


class BowlExplorer(Panel):
    name = "bowl-explorer"
    STEPS = 40  # steps drawn

    def __init__(self, lr, beta, bowl):
        style = slider_style()
        controls = {
            "bowl": widgets.Dropdown(options=list(BOWLS), value=bowl, description="bowl", **style),
            "lr": widgets.FloatLogSlider(lr, base=10, min=-2, max=0, step=0.05, description="learning rate η",
                                         readout_format=".3g", **style),
            "beta": widgets.FloatSlider(beta, min=0, max=0.95, step=0.05, description="momentum β",
                                        readout_format=".2f", **style),
        }
        super().__init__(controls)
        self.watch(*controls)
        self.update()

    def update(self) -> None:
        a = BOWLS[self.controls["bowl"].value]
        lr, beta = float(self.controls["lr"].value), float(self.controls["beta"].value)
        path = bowl_path(a, lr, beta, self.STEPS)
        losses = bowl_loss(a, path)
        limit = 2 * (1 + beta) / max(a)
        diverged = bool(losses[-1] > losses[0])
        arrived = steps_to(a, lr, beta)
        self.state.update(a=a, lr=lr, beta=beta, path=path, losses=losses, limit=limit, diverged=diverged,
                          steps_to_tol=arrived)
        self.show(self.draw(a, path, losses, lr, beta))
        where = f"J < {TOL:g} after {arrived} steps" if arrived is not None else f"J never gets below {TOL:g}"
        if diverged:
            message = (f"The loss grows: η = {lr:.3g} is above 2(1 + β)/a_max = {limit:.3g}, so every step "
                       f"overshoots the valley's floor by more than the last.")
        elif arrived is None:
            message = "Too slow: the steps are so small that J is still above the tolerance after 10,000 steps."
        else:
            message = ""
        self.state["message"] = message
        self.say(f"η = {lr:.3g}, β = {beta:.2f}: J goes from {losses[0]:.3g} to {losses[-1]:.3g} in "
                 f"{len(path) - 1} steps; {where}. The loss grows once η &gt; 2(1 + β)/a<sub>max</sub> = "
                 f"{limit:.3g}.", message)

    def draw(self, a, path, losses, lr, beta) -> Figure:
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax_path, ax_loss = fig.subplots(1, 2, width_ratios=[1.3, 1])
        g1, g2 = np.meshgrid(np.linspace(-5, 5, 201), np.linspace(-3, 3, 121))
        J = bowl_loss(a, np.stack([g1, g2], axis=-1))
        ax_path.contour(g1, g2, J, levels=np.geomspace(0.05, 60, 12), colors="grey", linewidths=0.7)
        shown = path[np.all(np.abs(path) < 50, axis=1)]
        ax_path.plot(shown[:, 0], shown[:, 1], "o-", color="tab:blue", markersize=3, linewidth=1, label="path")
        ax_path.plot(*path[0], "s", color="black", label="start")
        ax_path.plot(0, 0, "*", color="crimson", markersize=12, label="minimum")
        ax_path.set(xlim=(-5, 5), ylim=(-3, 3), xlabel="θ₁", ylabel="θ₂", aspect="equal",
                    title=f"a = ({a[0]:g}, {a[1]:g}), η = {lr:.3g}, β = {beta:.2f}")
        ax_path.legend(loc="upper right", fontsize=8)
        ax_loss.semilogy(np.arange(len(losses)), np.maximum(losses, 1e-300), color="tab:blue")
        ax_loss.axhline(TOL, color="grey", linestyle=":", label=f"tolerance {TOL:g}")
        ax_loss.set(xlabel="step t", ylabel="loss J", title="Loss per step (log scale)")
        ax_loss.grid(alpha=0.3)
        ax_loss.legend(fontsize=8)
        return fig


def bowl_explorer(lr: float = 0.2, beta: float = 0.0, bowl: str = "round: a = (1, 4)") -> Panel:
    """Gradient descent on the quadratic bowl J = 1/2 (a_1 theta_1^2 + a_2 theta_2^2), 40 steps from (-4, 2):
    the path on a contour plot, and the loss per step.

    Controls: ``bowl`` (a key of ``BOWLS``), ``lr`` (eta, 0.01..1), ``beta`` (momentum, 0..0.95).
    State: ``a``, ``lr``, ``beta``, ``path`` (steps + 1, 2), ``losses``, ``limit`` (2 (1 + beta) / a_max),
    ``diverged`` (the last loss above the first), ``steps_to_tol`` (first step with J < 1e-3, or None),
    ``message`` ("" or what went wrong).
    """
    if bowl not in BOWLS:
        raise ValueError(f"bowl={bowl!r}; expected one of {list(BOWLS)}.")
    return BowlExplorer(lr, beta, bowl)
