"""``python -m nnbasics``: the same as the ``nnbasics`` command."""

import sys

from nnbasics.cli.main import main

sys.exit(main())
