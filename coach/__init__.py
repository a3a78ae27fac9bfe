"""coach: rehearse a hard conversation with your partner, alone, and learn to listen."""

__version__ = "0.1.0"
