"""How the command-line tools end on an expected user error (a missing
file, a bad argument, something a target cannot take): the message and exit
code 2, no traceback; ``MMVIT_DEBUG=1`` shows the traceback."""
import os
import sys
from typing import Callable

USER_ERRORS = (FileNotFoundError, ValueError, NotImplementedError)


def run_cli(main: Callable):
    """``main()``, with :data:`USER_ERRORS` as ``error: ...`` and exit 2."""
    try:
        return main()
    except USER_ERRORS as err:
        if os.environ.get('MMVIT_DEBUG'):
            raise
        print(f'error: {err}', file=sys.stderr)
        sys.exit(2)
