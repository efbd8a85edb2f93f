"""``python -m openai_batches.cli``: the same as the ``openai-batches`` command."""

import sys

from . import main

sys.exit(main())
