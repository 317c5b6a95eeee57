"""Errors that carry the one-line message a user sees (stages print it and exit non-zero)."""


class DrywetError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class InputError(DrywetError):
    """A recording or other input file is unusable (unreadable, wrong rate, silent, ...)."""


class AlignmentError(DrywetError):
    """The wet recording could not be aligned with the dry one trustworthily."""


class ConfigError(DrywetError):
    """A parameter is invalid (unknown structure name, bad fraction, ...)."""
