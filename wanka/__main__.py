import sys

from wanka.cli.main import main

sys.exit(main())
