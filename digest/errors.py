"""Errors a user can act on: the CLI prints them as one line and exits non-zero."""


class DigestError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (whitespace collapsed), or its type when it has none."""
    return " ".join(str(exc).split()) or type(exc).__name__


def shorten(text: str, limit: int = 200) -> str:
    """`text` as a message quotes it: whole when short, else its start and end around the count of characters."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}…{text[-(limit // 4):]} ({len(text)} characters)"
