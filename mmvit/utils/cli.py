"""What the command-line tools share: how they end on an expected user
error (a missing file, a bad argument, something a target cannot take):
the message and exit code 2, no traceback (``MMVIT_DEBUG=1`` shows it);
and the arguments of every export tool."""
import argparse
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


def add_export_arguments(parser: argparse.ArgumentParser,
                         out_help: str) -> None:
    """The arguments of every export tool: ``config``, ``[checkpoint]``,
    ``--out``, ``--shape H W`` and ``--task``."""
    from mmvit.apis import TASKS
    parser.add_argument('config', help='config file')
    parser.add_argument(
        'checkpoint', nargs='?', help='checkpoint (random weights without)')
    parser.add_argument('--out', required=True, help=out_help)
    parser.add_argument(
        '--shape',
        type=int,
        nargs=2,
        required=True,
        metavar=('H', 'W'),
        help='input height and width (multiples of 32)')
    parser.add_argument(
        '--task',
        default='auto',
        choices=('auto', ) + TASKS,
        help='what to export; auto: the config\'s model (default)')
