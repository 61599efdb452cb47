"""GraphQL of partner apps (OAuth clients)."""
from schema.oauth import types
from schema.oauth.loaders import LOADERS
from schema.oauth.mutations import PartnerMutation
from schema.oauth.queries import PartnerQuery
from schema.part import SchemaPart

PART = SchemaPart(queries=(PartnerQuery,), mutations=(PartnerMutation,), types=(types.PartnerApp,), loaders=LOADERS)
