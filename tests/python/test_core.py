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
    assert issubclass(tessera.IoError, OSError)


def test_each_error_code_has_one_class_and_one_name():
    """The error codes' names are C++'s error_code_name and C's tsr_status_name; each names exactly one
    class, whose ``code`` it is. StorageError (the name before 0.2) is the same class as IoError."""
    classes = [
        tessera.InvalidInput,
        tessera.NotFound,
        tessera.Conflict,
        tessera.IoError,
        tessera.Unsupported,
        tessera.Unavailable,
        tessera.InternalError,
    ]
    assert sorted(cls.code for cls in classes) == sorted(tessera.error_code_names())
    assert "io" in tessera.error_code_names()
    assert tessera.StorageError is tessera.IoError


def test_io_errors_raise_io_error_with_code_io(tmp_path):
    storage = tessera.Storage.open(str(tmp_path))
    storage.put("file", b"x")
    with pytest.raises(tessera.IoError, match="Not a directory") as raised:
        storage.put("file/below", b"y")  # a file where a folder must be
    assert raised.value.code == "io"
    assert isinstance(raised.value, tessera.StorageError)
    with pytest.raises(tessera.NotFound) as missing:
        storage.get("missing")
    assert missing.value.code == "not_found"


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
