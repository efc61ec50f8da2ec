"""``python -m reconciler``: runs the CLI (``reconciler.cli.main``)."""

from reconciler.cli import main

main()
