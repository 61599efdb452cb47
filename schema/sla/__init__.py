"""GraphQL of recovery SLAs."""
from schema.part import SchemaPart
from schema.sla import types
from schema.sla.loaders import LOADERS
from schema.sla.mutations import SlaMutation
from schema.sla.queries import SlaQuery

PART = SchemaPart(queries=(SlaQuery,), mutations=(SlaMutation,), types=(types.SlaClock, types.SlaCalendar, types.SlaPolicy),
                  loaders=LOADERS)
