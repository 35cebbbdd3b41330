"""`python -m wanka.lab.tools TOOL ARGS...`: what a lab server's tool wrappers exec."""

import sys

from wanka.lab.tools.dispatch import main

sys.exit(main())
