"""chinalco-archive: crawler and searchable news archive for the Chinalco website network."""

__version__ = "0.1.0"
