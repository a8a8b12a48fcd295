"""``python -m streams.cli``: the ``douane`` command (how tests and the demo start processes).

Guarded: a process started with multiprocessing's 'spawn' (the worker's detection processes)
must not run the command again."""

import sys

if __name__ == "__main__":
    from streams.cli import main

    sys.exit(main())
