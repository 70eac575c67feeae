"""``python -m router.emulator``: the same as ``python -m router emulator``."""

import sys

from .cli import main

sys.exit(main())
