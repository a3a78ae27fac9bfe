"""The application layer both UIs call: the practice engine, choosing backends, settings rules."""
