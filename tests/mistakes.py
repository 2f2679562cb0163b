"""What the tests of the checkers' named mistakes share. A test file lists the mistakes a learner makes as
``MISTAKES = {name: (checker, the learner's wrong function, words its message must hold)}`` and asserts,
with these, that each is named and that no two share a message."""


def run(checker, fn, capsys):
    """The checker's verdict on ``fn`` and what it printed."""
    ok = checker(fn)
    return ok, capsys.readouterr().out


def assert_named(checker, fn, words, capsys, *, numbers_only_allowed=True):
    """The checker refuses ``fn`` with a message that holds ``words`` (and never a traceback); unless
    ``numbers_only_allowed``, not with "wrong values" either."""
    ok, out = run(checker, fn, capsys)
    assert ok is False and "correct!" not in out and "Traceback" not in out, out
    assert words.lower() in out.lower(), out
    if not numbers_only_allowed:
        assert "wrong values" not in out.lower(), out      # a message of its own, not only the numbers
    return out


def shared_messages(mistakes: dict, capsys) -> list:
    """The pairs ``(a, b)`` of mistakes (a < b) whose diagnoses (the message without its first line, which
    names the case) are the same."""
    messages = {}
    for name, (checker, fn, _) in mistakes.items():
        checker(fn)
        messages[name] = capsys.readouterr().out.split("\n", 1)[-1].strip()
    return [(a, b) for a in messages for b in messages if a < b and messages[a] == messages[b]]
