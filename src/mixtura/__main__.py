"""``python -m mixtura``: the ``mixtura`` command line (:func:`mixtura.cli.main`)."""

from mixtura.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
