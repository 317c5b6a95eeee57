"""`python -m drywet`: see drywet.cli."""

import sys

from drywet.cli import main

sys.exit(main())
