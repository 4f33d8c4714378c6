"""`python -m coinstream_lander`: run the landing job until SIGTERM."""

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
