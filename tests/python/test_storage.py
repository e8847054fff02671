import os
import threading

import pytest

import tessera


def test_put_get_exists_list_delete(storage):
    storage.put("a/b.bin", b"\x00\x01binary")
    assert storage.exists("a/b.bin")
    assert not storage.exists("a/missing")
    assert storage.get("a/b.bin") == b"\x00\x01binary"
    assert storage.read_range("a/b.bin", 2, 3) == b"bin"
    assert storage.stat("a/b.bin")["size"] == 8
    storage.put("a/c.txt", bytearray(b"mutable"))
    storage.put("d.txt", memoryview(b"view"))
    assert storage.list() == ["a/b.bin", "a/c.txt", "d.txt"]
    assert storage.list("a/") == ["a/b.bin", "a/c.txt"]
    assert storage.list(recursive=False) == ["a/", "d.txt"]
    storage.delete("a/b.bin")
    assert storage.list("a/") == ["a/c.txt"]
    assert storage.uri("d.txt").startswith("file://")


def test_put_file(storage, tmp_path):
    source = tmp_path / "src.txt"
    source.write_bytes(b"from file")
    storage.put_file("copy.txt", str(source))
    assert storage.get("copy.txt") == b"from file"


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/abs", "", "a//b"])
def test_traversal_is_invalid_input(storage, tmp_path, key):
    with pytest.raises(tessera.InvalidInput):
        storage.put(key, b"x")
    with pytest.raises(tessera.InvalidInput):
        storage.get(key)
    assert not (tmp_path / "escape").exists()


def test_symlink_escape_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    storage = tessera.Storage.open(str(tmp_path / "root"))
    os.symlink(outside, tmp_path / "root" / "link")
    with pytest.raises(tessera.InvalidInput, match="outside the storage root"):
        storage.get("link/secret")
    with pytest.raises(tessera.InvalidInput):
        storage.put("link/new", b"x")
    assert not (outside / "new").exists()


def test_missing_key_is_not_found(storage):
    with pytest.raises(tessera.NotFound, match="nope") as info:
        storage.get("nope")
    assert info.value.code == "not_found"
    with pytest.raises(tessera.NotFound):
        storage.delete("nope")


@pytest.mark.parametrize(
    "uri, error",
    [("relative/dir", tessera.InvalidInput), ("file://relative", tessera.InvalidInput), ("ftp://x/y", tessera.Unsupported)],
)
def test_bad_uri(uri, error):
    with pytest.raises(error):
        tessera.Storage.open(uri)


def test_gil_is_released_during_io(storage):
    # Several threads writing large objects concurrently must all complete,
    # and each object must be whole.
    payload = {i: bytes([i]) * (4 << 20) for i in range(4)}

    def write(i):
        storage.put(f"big/{i}", payload[i])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(4):
        assert storage.get(f"big/{i}") == payload[i]
