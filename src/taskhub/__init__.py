"""taskhub: a self-hostable multi-user task service."""

__version__ = "0.1.0"
