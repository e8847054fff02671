"""The exception hierarchy; every error tessera raises is a tessera.Error.

Each class's ``code`` is the error code's one name, the same in every language
(C++ ``tessera::error_code_name``, C ``tsr_status_name``, the CLI's messages;
docs/api-names.md). The extension raises the class whose ``code`` is the error's,
and a test checks that every code has exactly one class.
"""


class Error(Exception):
    """Base class. ``code`` is the stable error-code name (e.g. "not_found")."""

    code = "internal"


class InvalidInput(Error, ValueError):
    """Malformed or out-of-range input; the message names what and where."""

    code = "invalid_input"


class NotFound(Error, LookupError):
    """A key, item, collection or file that does not exist."""

    code = "not_found"


class Conflict(Error):
    """Already exists, or another writer holds the lock."""

    code = "conflict"


class IoError(Error, OSError):
    """Reading or writing storage or a dataset failed (code "io"; C TSR_IO, C++ ErrorCode::kIo)."""

    code = "io"


# The name of IoError before 0.2: the same class, so either name catches it.
StorageError = IoError


class Unsupported(Error):
    """A valid request that tessera does not handle."""

    code = "unsupported"


class Unavailable(Error):
    """A transient failure (server down or busy); retrying may succeed."""

    code = "unavailable"


class InternalError(Error):
    """A bug in tessera."""

    code = "internal"


# Every concrete class by its code (Error itself is only the base).
_BY_CODE = {cls.code: cls for cls in (InvalidInput, NotFound, Conflict, IoError, Unsupported, Unavailable, InternalError)}


def error_class(code: str) -> type:
    """The class raised for an error code name; Error for a name tessera does not know."""
    return _BY_CODE.get(code, Error)
