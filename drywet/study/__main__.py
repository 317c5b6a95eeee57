"""`python -m drywet.study ...`: see drywet/study/cli.py."""

import sys

from drywet.errors import run_main
from drywet.study.cli import main

sys.exit(run_main(main))
