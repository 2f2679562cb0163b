import numpy as np
import pytest

import nn_helpers as nn
from nn_helpers.optimizers import cosine_lr


@pytest.fixture
def pg():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    grads = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}
    return params, grads


def copy(d):
    return {k: v.copy() for k, v in d.items()}


def test_sgd(pg):
    params, grads = pg
    before = copy(params)
    nn.SGD(lr=0.5).step(params, grads)
    for k in params:
        assert np.allclose(params[k], before[k] - 0.5 * grads[k])


def test_sgd_weight_decay_applies_to_weights_only(pg):
    params, grads = pg
    before = copy(params)
    nn.SGD(lr=0.5, weight_decay=0.1).step(params, grads)
    assert np.allclose(params["W1"], before["W1"] - 0.5 * (grads["W1"] + 0.1 * before["W1"]))
    assert np.allclose(params["b1"], before["b1"] - 0.5 * grads["b1"])


def test_momentum_two_steps(pg):
    params, g = pg
    p0 = copy(params)
    opt = nn.Momentum(lr=0.1, beta=0.9)
    opt.step(params, g)
    opt.step(params, g)
    v1 = g["W1"]
    v2 = 0.9 * v1 + g["W1"]
    assert np.allclose(params["W1"], p0["W1"] - 0.1 * v1 - 0.1 * v2)


def test_adam_two_steps(pg):
    params, g = pg
    p = copy(params)
    opt = nn.Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01)
    opt.step(params, g)
    opt.step(params, g)
    w = p["W1"]
    m = v = 0
    for t in (1, 2):
        gt = g["W1"] + 0.01 * w
        m = 0.9 * m + 0.1 * gt
        v = 0.999 * v + 0.001 * gt**2
        w = w - 0.01 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    assert np.allclose(params["W1"], w)
    # Adam's first step moves every entry by about lr, whatever the gradient's size
    q = {"b1": np.zeros(2)}
    nn.Adam(lr=0.01).step(q, {"b1": np.array([1e-3, -50.0])})
    assert np.allclose(q["b1"], [-0.01, 0.01], rtol=1e-4)


def test_make_optimizer_and_errors():
    assert isinstance(nn.make_optimizer("adam"), nn.Adam) and nn.make_optimizer("adam").lr == 0.001
    assert nn.make_optimizer("momentum", lr=0.05).lr == 0.05
    with pytest.raises(ValueError, match=r"optimizer='rmsprop'; expected one of \['adam', 'momentum', 'sgd'\]"):
        nn.make_optimizer("rmsprop")
    with pytest.raises(ValueError, match="lr=0; the learning rate must be positive"):
        nn.SGD(lr=0)


def test_cosine_schedule():
    assert cosine_lr(0.1, 1, 10) == pytest.approx(0.1)
    assert cosine_lr(0.1, 6, 10) == pytest.approx(0.05)
    lrs = [cosine_lr(0.1, e, 10) for e in range(1, 11)]
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[-1] > 0


def test_onecycle_schedule_rises_to_its_peak_then_falls_to_nearly_zero():
    from nn_helpers.optimizers import onecycle_lr

    T = 101                                               # warm-up: 0.3 (T - 1) = 30 steps
    lrs = [onecycle_lr(0.01, t, T) for t in range(T)]
    assert lrs[0] == pytest.approx(0.01 / 25) and lrs[30] == pytest.approx(0.01) and max(lrs) == lrs[30]
    assert lrs[15] == pytest.approx((0.01 / 25 + 0.01) / 2)                     # half-way up the cosine
    assert lrs[-1] == pytest.approx(0.01 / 25 / 1e4)
    assert lrs[65] == pytest.approx((0.01 + 0.01 / 25e4) / 2)                   # half-way down
    assert all(a < b for a, b in zip(lrs[:30], lrs[1:31])) and all(a > b for a, b in zip(lrs[30:], lrs[31:]))
    assert onecycle_lr(0.01, 0, 1) == pytest.approx(0.01)                          # one step: the peak
    with pytest.raises(ValueError, match="step=5, total_steps=5; expected 0 <= step < total_steps"):
        onecycle_lr(0.01, 5, 5)
    with pytest.raises(ValueError, match="warmup=1; expected the share of the steps spent warming up"):
        onecycle_lr(0.01, 0, 5, warmup=1)


def test_train_sets_the_onecycle_rate_before_every_step():
    from nn_helpers.optimizers import onecycle_lr

    class Recording(nn.Adam):
        def step(self, params, grads):
            seen.append(self.lr)
            super().step(params, grads)

    seen = []
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50)
    nn.train(nn.init_params([784, 8, 10]), X, y, epochs=2, batch_size=16, optimizer=Recording(lr=0.01),
             schedule="onecycle", progress=False)
    assert seen == [onecycle_lr(0.01, t, 8) for t in range(8)]          # 4 batches an epoch, 2 epochs
