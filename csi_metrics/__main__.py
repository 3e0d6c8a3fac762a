"""`python -m csi_metrics ...`: see csi_metrics/cli.py."""

import sys

from csi_metrics.cli import main

sys.exit(main())
