"""The exception hierarchy; every error tessera raises is a tessera.Error."""


class Error(Exception):
    """Base class. ``code`` is the stable error-code name (e.g. "not_found")."""

    code = "internal"


class InvalidInput(Error, ValueError):
    """Malformed or out-of-range input; the message names what and where."""


class NotFound(Error, LookupError):
    """A key, item, collection or file that does not exist."""


class Conflict(Error):
    """Already exists, or another writer holds the lock."""


class StorageError(Error, OSError):
    """Reading or writing storage or a dataset failed."""


class Unsupported(Error):
    """A valid request that tessera does not handle."""


class Unavailable(Error):
    """A transient failure (server down or busy); retrying may succeed."""


class InternalError(Error):
    """A bug in tessera."""
