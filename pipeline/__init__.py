"""Peyvand: persons, titles and organizations in Persian news articles, resolved into a co-occurrence graph."""

__version__ = "0.1.0"
