"""The edges: SQLite storage, the one openai module, prompts, shipped files, config, the local
model server."""
