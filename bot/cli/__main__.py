"""`python -m bot.cli` is `resident-bot`."""

import sys

from bot.cli import main

sys.exit(main())
