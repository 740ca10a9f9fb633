"""``python -m rmcal``: the same as the ``rmcal`` command."""

from rmcal.cli import main

main()
