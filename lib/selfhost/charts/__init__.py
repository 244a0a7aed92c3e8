"""Altair charts of the book, one module per analysis, over tables the formula modules aggregate.

:mod:`~selfhost.charts.theme` holds the one theme and the offline renderer. May import the
foundations and the formula modules only.
"""
