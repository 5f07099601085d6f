import sys

from bnn.cli import main

sys.exit(main())
