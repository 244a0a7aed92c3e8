"""Where the project's files are. The only module that knows the repository layout."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root: lib/selfhost/paths.py -> lib/selfhost -> lib -> root.
ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The data folder: ``$SELFHOST_DATA_DIR`` if set, else ``<root>/data``."""
    return Path(os.environ.get("SELFHOST_DATA_DIR", ROOT / "data"))


NOTEBOOKS = ROOT / "notebooks"
BOOK = ROOT / "book"
#: Executed notebooks that the book renders (written by the pipeline, not committed).
EXECUTED = BOOK / "analyses"
BUILD = ROOT / "_build"
HTML = BUILD / "html"
#: Files copied into the root of the built site (claims.json).
SITE_EXTRA = BUILD / "site-extra"
#: Static assets served with the book (the vega bundle).
ASSETS = BUILD / "assets"
