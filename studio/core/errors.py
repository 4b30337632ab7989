"""Domain errors: every failure a user can cause or meet has a class and a message that names the problem."""

from __future__ import annotations


class StudioError(Exception):
    """Base for errors whose message is fit to show a user as is."""

    code = "studio_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(StudioError):
    code = "not_found"


class ValidationError(StudioError):
    code = "invalid_param"


class ConflictError(StudioError):
    code = "conflict"


class ModelError(StudioError):
    """A model file is missing, corrupt, or failed to load."""

    code = "model_error"


class PromptTooLongError(StudioError):
    code = "prompt_too_long"


class DatabaseVersionError(StudioError):
    """The database was written by a newer Studio; it is refused and left untouched."""

    code = "database_too_new"


class CancelledError(StudioError):
    code = "cancelled"
