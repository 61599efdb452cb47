"""DataLoader fetchers of the survey module (`info.context.loaders.<name>`)."""
from __future__ import annotations

from app.survey import repository, service

LOADERS = {
    "survey_result": service.get_results,
    "survey_template": repository.templates_by_ids,
}
