"""`python -m drywet`: see drywet.app.cli."""

import sys

from drywet.app.cli import main

sys.exit(main())
