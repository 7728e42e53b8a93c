"""booklet: print an accessible, sourced booklet about a breast-cancer treatment plan."""

__version__ = "0.1.0"
