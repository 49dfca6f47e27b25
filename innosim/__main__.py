"""``python3 -m innosim``: the same as the ``innosim`` command."""
import sys

from .cli import main

sys.exit(main())
