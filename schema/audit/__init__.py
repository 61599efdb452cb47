"""GraphQL of the audit trail."""
from schema.audit.queries import AuditQuery
from schema.part import SchemaPart

PART = SchemaPart(queries=(AuditQuery,))
