"""Stores to test against: a SQLite file always, a real PostgreSQL when one is given.

CI starts a throwaway PostgreSQL (``.ci/postgres``) and sets ``MHHS_SIT_TEST_POSTGRES_URL``;
elsewhere the PostgreSQL cases are skipped, unless ``MHHS_SIT_REQUIRE_TOOLS=1`` makes that a failure.
"""

from __future__ import annotations

import pytest

from tests.helpers import postgres_database


@pytest.fixture
def pg_database():
    """A fresh database on the test server, dropped afterwards: the URL to it."""
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    return request.getfixturevalue("pg_database")
