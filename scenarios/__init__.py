"""The scenarios, shipped as the package data `coach.data.scenarios`."""
