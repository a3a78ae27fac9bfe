"""Prompt templates (jinja2), shipped as the package data `coach.data.prompts`."""
