"""Main application file for spark-submit / the Spark operator (``python -m coinstream_lander`` elsewhere)."""

import sys

from coinstream_lander.runner import main

if __name__ == "__main__":
    sys.exit(main())
