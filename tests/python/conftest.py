import pytest

import tessera


@pytest.fixture
def storage(tmp_path):
    return tessera.Storage.open(str(tmp_path / "root"))
