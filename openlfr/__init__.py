"""openlfr: live facial recognition with the law built in."""

__version__ = "0.1.0"
