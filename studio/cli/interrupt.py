"""Ctrl-C for streaming commands: the first press stops the answer or run cleanly (it is stored as stopped);
a press with nothing to stop, or a second one, aborts as usual."""

from __future__ import annotations

import signal
from contextlib import contextmanager

from studio.core.cancel import CancelToken

_watched: list[CancelToken] = []


def watch(token: CancelToken) -> CancelToken:
    _watched.append(token)
    return token


def _on_sigint(signum, frame) -> None:
    live = [t for t in _watched if not t.cancelled]
    if not live:
        raise KeyboardInterrupt
    # Cancelling instead of raising: an exception raised inside llama.cpp's ctypes callbacks is swallowed,
    # and one raised mid-stream would tear the stream down before it records how it ended.
    for token in live:
        token.cancel("interrupted")


@contextmanager
def graceful_interrupts():
    try:
        previous = signal.signal(signal.SIGINT, _on_sigint)
    except ValueError:  # not the main thread (an embedding program): keep its handling
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _watched.clear()
