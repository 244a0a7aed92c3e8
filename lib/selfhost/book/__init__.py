"""The book: pages (:mod:`~selfhost.book.page`), the pipeline that executes the notebooks and
builds the site (:mod:`~selfhost.book.pipeline`), the claims ledger (:mod:`~selfhost.book.ledger`)
and the myst-nb plugin (:mod:`~selfhost.book.mimes`). Machinery: runs kernels, writes files.

May import the foundations, the formula modules, :mod:`selfhost.data` and
:mod:`selfhost.charts`; never :mod:`selfhost.live` or :mod:`selfhost.cli`.
"""
