"""Stores to test against: a SQLite file always, a real PostgreSQL when one is given.

CI starts a throwaway PostgreSQL (``.ci/postgres``) and sets ``MHHS_SIT_TEST_POSTGRES_URL``;
elsewhere the PostgreSQL cases are skipped, unless ``MHHS_SIT_REQUIRE_TOOLS=1`` makes that a failure.
"""

from __future__ import annotations

import os
import uuid

import pytest

PG_ENV = "MHHS_SIT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("MHHS_SIT_REQUIRE_TOOLS") == "1":
            pytest.fail(f"PostgreSQL is required here (MHHS_SIT_REQUIRE_TOOLS=1) but {PG_ENV} is not set")
        pytest.skip(f"no PostgreSQL: set {PG_ENV} (.ci/postgres start DIR prints one)")
    return url


@pytest.fixture
def pg_database():
    """A fresh database on the test server, dropped afterwards: the URL to it."""
    import psycopg

    base = postgres_url()
    name = f"mhhs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    return request.getfixturevalue("pg_database")
