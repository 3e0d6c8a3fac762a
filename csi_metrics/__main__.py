"""`python -m csi_metrics ...`: see csi_metrics/cli.py."""

import sys

from .cli import main

sys.exit(main())
