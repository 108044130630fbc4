"""Entry point for ``python -m portalctl``."""

import sys

from portalctl.cli import main

sys.exit(main())
