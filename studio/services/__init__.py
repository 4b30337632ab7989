"""Use cases: the one synchronous, thread-safe surface that the GUI, the HTTP API and the CLI call."""

from studio.services.facade import Services

__all__ = ["Services"]
