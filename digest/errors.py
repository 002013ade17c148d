"""Errors a user can act on: the CLI prints them as one line and exits non-zero."""


class DigestError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (whitespace collapsed), or its type when it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__
