"""GraphQL of customer archives."""
from schema.customer import types
from schema.customer.loaders import LOADERS
from schema.customer.mutations import CustomerMutation
from schema.customer.queries import CustomerQuery
from schema.part import SchemaPart

PART = SchemaPart(queries=(CustomerQuery,), mutations=(CustomerMutation,),
                  types=(types.Customer, types.CustomerImport, types.Promise, types.OwnedProduct), loaders=LOADERS)
