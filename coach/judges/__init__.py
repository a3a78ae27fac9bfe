"""Judges: the built-in act judge (`builtin`, with its rules in `acts/`) and the model judge."""
