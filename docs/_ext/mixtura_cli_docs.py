"""The ``mixtura`` command's Click group, for sphinx-click (``docs/cli.rst``).

:func:`mixtura.cli._app.build_cli` builds the group when the command runs; the
reference is generated from the same group, so it cannot drift from the command.
"""

from mixtura.cli import _run_demo
from mixtura.cli._app import build_cli

#: the ``mixtura`` command, as ``mixtura.cli.main`` runs it
cli = build_cli(_run_demo)
