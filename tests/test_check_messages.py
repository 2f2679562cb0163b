"""The verdict's sentence: a diagnosis gets a capital letter, except where it starts with a name from the
code, whose case is part of the name (b1 is not B1, dA1 is not DA1)."""

from nn_helpers.check._core import _sentence


def test_a_diagnosis_starts_with_a_capital():
    assert _sentence("wrong values at index (0, 1)") == "Wrong values at index (0, 1)"


def test_a_name_from_the_code_keeps_its_case():
    assert _sentence("b1, W2, b2 differ (W1 is right)") == "b1, W2, b2 differ (W1 is right)"
    assert _sentence("dA1 has the wrong shape") == "dA1 has the wrong shape"
    assert _sentence("item 0: the result has shape (3,)") == "Item 0: the result has shape (3,)"
