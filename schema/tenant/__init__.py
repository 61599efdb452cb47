"""GraphQL of brands, dealers and staff."""
from schema.part import SchemaPart
from schema.tenant import types
from schema.tenant.loaders import LOADERS
from schema.tenant.mutations import TenantMutation, UserMutation
from schema.tenant.queries import TenantQuery

PART = SchemaPart(queries=(TenantQuery,), mutations=(TenantMutation, UserMutation),
                  types=(types.Brand, types.Dealer, types.User), loaders=LOADERS)
