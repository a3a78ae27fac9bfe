"""Adversarial suites, shipped as the package data `coach.data.evals.adversarial`."""
