"""tessera: STAC catalog, ingest, matching, tiling and packaging for Earth-observation data."""

from ._errors import (
    Conflict,
    Error,
    InternalError,
    InvalidInput,
    NotFound,
    StorageError,
    Unavailable,
    Unsupported,
)
from ._tessera import (
    Catalog,
    Storage,
    __version__,
    create_item,
    dependency_versions,
    ingest,
    ingest_messages,
    set_log_callback,
    to_cog,
)

__all__ = [
    "Catalog",
    "Conflict",
    "Error",
    "InternalError",
    "InvalidInput",
    "NotFound",
    "Storage",
    "StorageError",
    "Unavailable",
    "Unsupported",
    "__version__",
    "create_item",
    "dependency_versions",
    "ingest",
    "ingest_messages",
    "set_log_callback",
    "to_cog",
]
