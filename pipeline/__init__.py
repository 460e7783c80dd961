"""Peyvand: persons, titles and organizations in Persian news articles, resolved into a co-occurrence graph."""

__version__ = "0.1.0"


def load(path="outputs"):
    """Load a run's output folder for a notebook: see :mod:`pipeline.explore`."""
    from pipeline.explore import load as _load

    return _load(path)
