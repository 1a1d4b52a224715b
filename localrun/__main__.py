"""``python -m localrun [--port P] [--host H] [--persist DIR]``: see ``localrun.server``."""

from localrun.server import main

if __name__ == "__main__":
    raise SystemExit(main())
