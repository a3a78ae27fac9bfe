"""The `coach` command line, kept thin over the application layer: `main` parses and
dispatches; the bigger commands (models, report-card, eval) have a module each."""

from coach.cli.commands import main

__all__ = ["main"]
