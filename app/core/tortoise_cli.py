"""Configuration for Tortoise's own CLI, as the migrating (admin) role:

    DATABASE_URL=... .venv/bin/tortoise -c app.core.tortoise_cli.TORTOISE_ORM makemigrations -n what_changed
"""
from app.core.db import PgTarget, tortoise_config
from app.settings import get_settings

_url = get_settings().admin_url
if not _url:
    raise SystemExit("set DATABASE_URL (or DATABASE_ADMIN_URL) to run Tortoise's CLI")
TORTOISE_ORM = tortoise_config(PgTarget.parse(_url), minsize=1, maxsize=2)
