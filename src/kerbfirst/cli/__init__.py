"""The `kerbfirst` command line (main.py); help formatting is set here, for every command."""

from kerbfirst.cli import help_format

help_format.install()
