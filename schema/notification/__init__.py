"""GraphQL of the viewer's notifications."""
from schema.notification import types
from schema.notification.mutations import NotificationMutation
from schema.notification.queries import NotificationQuery
from schema.part import SchemaPart

PART = SchemaPart(queries=(NotificationQuery,), mutations=(NotificationMutation,), types=(types.Notification,))
