import sys

from enforcer.cli.main import main

sys.exit(main())
