import os

import pytest

import tessera


@pytest.fixture
def storage(tmp_path):
    return tessera.Storage.open(str(tmp_path / "root"))


@pytest.fixture
def s3_env():
    """The test S3 server's bucket and client options (started by scripts/test.sh)."""
    endpoint = os.environ.get("TESSERA_TEST_S3_ENDPOINT")
    if not endpoint:
        if os.environ.get("CI"):
            pytest.fail("TESSERA_TEST_S3_ENDPOINT is not set: the S3 test server did not start")
        pytest.skip("no S3 test server (run scripts/test.sh)")
    options = {
        "endpoint": endpoint,
        "access_key_id": os.environ["TESSERA_TEST_S3_ACCESS_KEY"],
        "secret_access_key": os.environ["TESSERA_TEST_S3_SECRET_KEY"],
    }
    return {"bucket": os.environ["TESSERA_TEST_S3_BUCKET"], "options": options}
