"""``python -m csvscore.sandbox``: run the simulator as a process of its own (see ``server``)."""

import sys

from csvscore.sandbox.server import main

sys.exit(main())
