"""Package data: the repo's top-level `prompts/`, `scenarios/` and `evals/` folders, mapped
here by `pyproject.toml` so that a wheel carries them. Read them through
`coach.adapters.resources`."""
