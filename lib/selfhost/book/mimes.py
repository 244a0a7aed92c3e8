"""A myst-nb plugin that tells the book how to treat the project's own output types.

Two mime types in the notebooks' outputs are for machines, not for the page:

- :data:`selfhost.verdicts.VERDICT_MIME`, the verdict record the ledger reads; the page
  shows the same verdict through the output's ``text/markdown``;
- the vega-lite spec, which JupyterLab draws; the page draws the same chart through the
  output's ``text/html`` (see :mod:`selfhost.charts`).

Registered under the ``myst_nb.mime_renderers`` entry point in ``pyproject.toml``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from selfhost.charts.theme import VEGALITE_MIME
from selfhost.verdicts import VERDICT_MIME

SHOWN_ELSEWHERE = (VERDICT_MIME, VEGALITE_MIME)


class BookMimes:
    """Render nothing for mime types whose content the page shows in another form."""

    mime_priority_overrides: ClassVar[list[tuple[str, str, int | None]]] = [
        ("*", mime, None) for mime in SHOWN_ELSEWHERE
    ]

    @staticmethod
    def handle_mime(renderer: Any, data: Any, inline: bool) -> list | None:
        return [] if data.mime_type in SHOWN_ELSEWHERE else None
