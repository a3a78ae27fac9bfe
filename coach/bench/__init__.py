"""`coach bench`: throughput of the built-in judge and the turn, the local-model breakdown, and the
simulated OpenAI-compatible server the benchmark talks to."""
