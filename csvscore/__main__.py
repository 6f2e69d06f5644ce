"""``python -m csvscore``: the same as the ``csvscore`` command."""

import sys

from csvscore.cli import main

sys.exit(main())
