"""The ``cdk-processing`` command line: the library's jobs of deployed stacks (``cdk-processing --help``)."""

from .main import main

__all__ = ["main"]
