"""Databases of their own for the tests that use the pgstac test cluster (scripts/test.sh
starts it and sets TESSERA_TEST_PGSTAC_URL), so that they run in parallel (pytest -n)."""

import contextlib
import os
import socket
import time
import urllib.parse
import uuid

import pytest


def required_server_variable(name, server):
    """The variable scripts/test.sh sets for a test server it started: a failure in CI when missing, else a skip."""
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not set: the {server} did not start")
        pytest.skip(f"no {server} (run scripts/test.sh)")
    return value


def pgstac_cluster_url():
    """The test pgstac cluster's URL."""
    return required_server_variable("TESSERA_TEST_PGSTAC_URL", "pgstac cluster")


def with_database(url, database):
    """`url` (a postgresql:// URI) naming `database` instead."""
    return urllib.parse.urlsplit(url)._replace(path="/" + database).geturl()


def _admin_execute(url, statement):
    psycopg = pytest.importorskip("psycopg")
    for attempt in range(6):
        try:
            with psycopg.connect(with_database(url, "postgres"), autocommit=True, connect_timeout=10) as connection:
                connection.execute(statement)
            return
        except psycopg.errors.ObjectInUse:
            # Someone is connected to the template (scripts/pgstac_cluster.sh start migrating it
            # again): a clone waits 5 s for them, then fails.
            if attempt == 5:
                raise
            time.sleep(1)


@contextlib.contextmanager
def pgstac_database():
    """A pgstac database of its own on the test cluster, dropped on exit: a clone of the migrated
    template database scripts/pgstac_cluster.sh keeps (pgstac_template, or
    $TESSERA_TEST_PGSTAC_TEMPLATE). Tests running in parallel (pytest -n) never share one:
    pgstac's queryables, partitions and advisory locks are per database."""
    url = pgstac_cluster_url()
    psycopg = pytest.importorskip("psycopg")
    template = os.environ.get("TESSERA_TEST_PGSTAC_TEMPLATE", "pgstac_template")
    name = f"tessera_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        _admin_execute(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    except psycopg.errors.InvalidCatalogName as error:
        pytest.fail(f"{error}: the pgstac test cluster lacks its template database "
                    "(run scripts/pgstac_cluster.sh start again)")
    try:
        yield with_database(url, name)
    finally:
        _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
