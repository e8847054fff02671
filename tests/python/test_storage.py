import os
import threading
import uuid

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


S3_ENDPOINT = os.environ.get("TESSERA_TEST_S3_ENDPOINT")


@pytest.fixture
def s3_storage():
    if not S3_ENDPOINT:
        if os.environ.get("CI"):
            pytest.fail("TESSERA_TEST_S3_ENDPOINT is not set: the S3 test server did not start")
        pytest.skip("no S3 test server (run scripts/test.sh)")
    options = {
        "endpoint": S3_ENDPOINT,
        "access_key_id": os.environ["TESSERA_TEST_S3_ACCESS_KEY"],
        "secret_access_key": os.environ["TESSERA_TEST_S3_SECRET_KEY"],
    }
    prefix = f"python-{uuid.uuid4().hex}"
    return tessera.Storage.open(f"s3://{os.environ['TESSERA_TEST_S3_BUCKET']}/{prefix}", options=options)


def test_s3_round_trip(s3_storage):
    s3_storage.put("a/b.bin", b"\x00\x01s3")
    assert s3_storage.get("a/b.bin") == b"\x00\x01s3"
    assert s3_storage.exists("a/b.bin")
    assert s3_storage.list() == ["a/b.bin"]
    assert s3_storage.list(recursive=False) == ["a/"]
    assert s3_storage.uri("a/b.bin").startswith("s3://")
    s3_storage.delete("a/b.bin")
    assert not s3_storage.exists("a/b.bin")
    with pytest.raises(tessera.NotFound):
        s3_storage.get("a/b.bin")
    with pytest.raises(tessera.InvalidInput):
        s3_storage.put("../escape", b"x")


def test_s3_options_are_checked():
    with pytest.raises(tessera.InvalidInput, match="unknown S3 storage option"):
        tessera.Storage.open("s3://bucket/prefix", options={"endpoint_url": "http://x"})
