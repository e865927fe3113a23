"""``python -m siyu``: the same as the ``siyu`` command."""

from siyu.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
