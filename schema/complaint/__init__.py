"""GraphQL of complaint tickets."""
from schema.complaint import types
from schema.complaint.loaders import LOADERS
from schema.complaint.mutations import ComplaintMutation
from schema.complaint.queries import ComplaintQuery
from schema.part import SchemaPart

PART = SchemaPart(queries=(ComplaintQuery,), mutations=(ComplaintMutation,), types=(types.Ticket, types.TicketCategory, types.AssignmentRule), loaders=LOADERS)
