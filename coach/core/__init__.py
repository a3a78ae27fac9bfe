"""The pure core: the rubric, scenarios, session trees, readings, turn planning and metrics.

Nothing here talks to a model, a database or a screen.
"""
