"""Instant checks for the exercises of the notebooks: you write a piece of the network, a checker tells you
whether it is right, and if not, which classic mistake it makes and where to look.

    from nn_helpers import check

    def my_softmax(Z):
        return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)

    ok = check.softmax(my_softmax)
    # softmax: not right yet on large logits (up to 1000).
    #   It overflows on large logits: np.exp(1000) is inf, and inf / inf is nan. Softmax does not ...

Each checker runs your function on a few prepared cases (a batch of one, large logits, non-square layers,
...) against the package's own implementation, prints one verdict and returns ``True`` or ``False``. When
the result is wrong, it runs the known-wrong variants of the piece (the naive softmax, the wrong axis, the
missing ReLU mask, ...) on the same case; the variant that gives your numbers names your mistake. A
checker never raises because of your code: an exception in it is reported with the case that caused it and
the line of your code that raised, and a function that still raises ``NotImplementedError`` (or has only
``...`` or ``pass`` as its body) is "not done yet".

Every checker also refuses a function that changes an input it should only read (``Z -= Z.max(...)`` on the
caller's logits, ``cache["A2"][...] -= 1``) and names that input; only an optimizer step may update its
parameters and state. A call that runs longer than ``_core.TIME_LIMIT`` seconds (10) is stopped and the line
it was running is shown, so an endless loop does not hang the notebook. The items of a tuple result are
named as the exercise names them (``velocity``, ``m``, ``v``). The package's own function (``nn.softmax``), a
function that only calls it, or the notebook's worked function (``backward_deep``) is told so and not counted.

``check.progress("03")`` prints how many of a notebook's exercises you have solved (``check.progress()``: of
the whole series); ``check.start_over("03")`` starts that count over, keeping your earlier code aside. Every function a checker
accepts is kept in ``my_network.py`` (in ``$NN_LEARNER_DIR``, or the working folder), so the count survives a
kernel restart and the capstone of notebook 05 can train a network made of your own code:
``check.my_network([...])`` imports the kept pieces (``check/_kept.py``).

One module per notebook holds its checkers (``check/data.py`` for notebook 01, ``check/forward_pass.py`` for
02, ..., ``check/regularization.py`` for 08, ``check/convolutional_networks.py`` for 11,
``check/automatic_differentiation.py`` for 12, ``check/deep_networks.py`` for 13); ``check/_core.py`` holds what they share: running the cases,
comparing with the package's function,
naming the mistake, the verdicts and the progress.
"""

from ._core import EXERCISES, NOT_DONE, against, progress, results, start_over
from ._kept import learner_file, my_network
from .automatic_differentiation import tensor_max, topological_order, unbroadcast, value_mul
from .backpropagation import backward, backward_deep, backward_tanh, numerical_gradient, output_gradient
from .convolutional_networks import bridge_backward, conv_backward, conv_forward, im2col, maxpool_backward, my_cnn
from .deep_networks import batchnorm_backward, batchnorm_forward, layernorm_images, residual_backward
from .data import parse_idx, to_features, train_val_split
from .evaluation import confusion_matrix, most_confident_mistakes, precision_recall
from .forward_pass import forward, he_init, layer
from .regularization import dropout_forward, early_stopping, l2_gradient
from .softmax_cross_entropy import cross_entropy, one_hot, softmax
from .training import adam_step, cosine_lr, momentum_step
from .training_loop import minibatches, sgd_step, train_epoch

__all__ = ["EXERCISES", "NOT_DONE", "against", "learner_file", "my_cnn", "my_network", "progress", "results", "start_over", *(n for names in EXERCISES.values() for n in names)]
