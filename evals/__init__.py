"""The project's own evaluation suites, shipped as the package data `coach.data.evals`."""
