"""warroom: a terminal incident war-room console."""

__version__ = "0.1.0"
