"""Errors that carry the one-line message a user sees (stages print it and exit non-zero)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


class DrywetError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""


class InputError(DrywetError):
    """A recording or other input file is unusable (unreadable, wrong rate, silent, ...)."""


class AlignmentError(DrywetError):
    """The wet recording could not be aligned with the dry one trustworthily."""


class ConfigError(DrywetError):
    """A parameter is invalid (unknown structure name, bad fraction, ...)."""


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM or SIGINT arrives, so that every `finally` and
    temporary-output cleanup runs as it does for an exception; `signum` gives the exit status."""

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def run_main(main: Callable[[], object]) -> int:
    """Run a command's body; returns its exit status: 0, 2 after a DrywetError (printed as one
    `error:` line on stderr, no traceback), 128 + signal number after SIGTERM/SIGINT."""

    def on_signal(signum, _frame):
        raise Terminated(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        result = main()
        return result if isinstance(result, int) else 0
    except DrywetError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    except Terminated as exc:
        print(f"error: {exc}; nothing was written", file=sys.stderr, flush=True)
        return 128 + exc.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
