import threading

import pytest

import tessera


def test_version_matches_package():
    assert tessera.__version__.count(".") == 2
    versions = tessera.dependency_versions()
    assert versions["tessera"] == tessera.__version__
    assert versions["gdal"] and versions["proj"]


def test_exception_hierarchy():
    for cls in (
        tessera.InvalidInput,
        tessera.NotFound,
        tessera.Conflict,
        tessera.StorageError,
        tessera.Unsupported,
        tessera.Unavailable,
        tessera.InternalError,
    ):
        assert issubclass(cls, tessera.Error)
    assert issubclass(tessera.InvalidInput, ValueError)
    assert issubclass(tessera.NotFound, LookupError)


def test_log_callback_receives_messages_from_any_thread(tmp_path):
    seen = []
    tessera.set_log_callback(lambda level, message: seen.append((level, message)), "debug")
    try:
        # GDAL debug output reaches the callback through tessera's handler; a
        # storage error in another thread must not deadlock the callback path.
        def worker():
            with pytest.raises(tessera.NotFound):
                tessera.Storage.open(str(tmp_path)).get("missing")

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    finally:
        tessera.set_log_callback(None)
    with pytest.raises(tessera.InvalidInput, match="log level"):
        tessera.set_log_callback(print, "loud")
