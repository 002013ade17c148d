"""Errors a user can act on: the CLI prints them as one line and exits non-zero."""


class DigestError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""
