"""``python -m cdk_processing.cli``: the same as the ``cdk-processing`` command."""

import sys

from .main import main

sys.exit(main())
