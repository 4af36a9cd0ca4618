"""Errors that the CLI reports as one line with exit code 2."""


class Photo3DError(ValueError):
    """Bad input or configuration: the message names the file and the problem."""
