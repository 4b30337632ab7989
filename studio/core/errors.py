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


class AuthenticationError(StudioError):
    """A missing, malformed, unknown or revoked API key."""

    code = "unauthorized"


class ForbiddenError(StudioError):
    """A valid key used for something it does not grant (another app, the wrong key kind)."""

    code = "forbidden"


class FileTooLargeError(StudioError):
    code = "file_too_large"


class UnsupportedFileTypeError(StudioError):
    code = "unsupported_file_type"


class FileNotFoundInStoreError(NotFoundError):
    """An upload id that names no uploaded file (Dify `file_not_found`)."""

    code = "file_not_found"


class FileExtensionBlockedError(ValidationError):
    """An upload whose extension could run as a program (Dify `file_extension_blocked`)."""

    code = "file_extension_blocked"


class FileAccessDeniedError(ForbiddenError):
    """An upload used by a different `user` than the one who uploaded it (Dify `file_access_denied`)."""

    code = "file_access_denied"
