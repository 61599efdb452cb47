"""Survey jobs. Thin: they call the pipeline and the service."""
from __future__ import annotations

from app.core.jobs import tenant_job
from app.core.tenancy import Scope


@tenant_job("survey.import", transactional=False, timeout=3600, max_tries=3)
async def run_import(scope: Scope, import_id: str) -> str:
    """A bulk file of results (app/survey/importer.py); batch by batch, safe to run twice."""
    from app.core import imports

    return await imports.run_import(scope, import_id)
