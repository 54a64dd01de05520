"""``python -m codeloop`` is the ``codeloop`` command."""

from codeloop.cli import main

main()
