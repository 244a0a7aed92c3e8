"""The book: pages (:mod:`~selfhost.book.page`), the pipeline that executes the notebooks and
builds the site (:mod:`~selfhost.book.pipeline`) with a reader's parameters file
(read by :mod:`selfhost.data.yamlfile`), the claims ledger (:mod:`~selfhost.book.ledger`), the
myst-nb plugin (:mod:`~selfhost.book.mimes`), the Sphinx extension (:mod:`~selfhost.book.site`),
publishing (:mod:`~selfhost.book.publish`) and the parameter vocabulary
(:mod:`~selfhost.book.vocabulary`). Machinery: runs kernels, writes files.

May import the foundations, the formula modules, :mod:`selfhost.data` and
:mod:`selfhost.charts`; never :mod:`selfhost.live` or :mod:`selfhost.cli`.
"""
