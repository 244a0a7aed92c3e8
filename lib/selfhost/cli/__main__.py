"""``python -m selfhost.cli``: the ``selfhost`` command."""

import sys

from selfhost.cli import main

sys.exit(main())
