"""`python -m ivr` is the `ivr` command."""

import sys

from ivr.cli import main

sys.exit(main())
