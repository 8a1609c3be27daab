"""Workshop events: an admin's event grants its attendees models and one key each, for its window."""
