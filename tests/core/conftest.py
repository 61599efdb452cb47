"""Fixtures shared by the platform tests (tests/core/)."""
import pytest

from app.core.db import PgTarget
from app.settings import get_settings


@pytest.fixture
async def admin_conn():
    """A superuser connection to the test database (the catalog as the migrations see it)."""
    conn = await PgTarget.parse(get_settings().admin_url).connect()
    yield conn
    await conn.close()
