"""Service levels: business calendars and the deadlines counted in them."""
