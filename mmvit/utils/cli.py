"""What the command-line tools share: how they run, and the arguments
several of them take.

Every tool ends with ``run_cli(main)`` (:func:`run_cli`), which

* ends an expected user error (:func:`is_user_error`: a missing file, a
  config value, a checkpoint that does not fit the model, an unknown arch,
  something a target cannot take) with ``error: <message>`` on stderr and
  exit code 2, without a traceback; any other exception (a bug) keeps its
  traceback. ``--debug`` (any tool; it is taken off the arguments) or
  ``MMVIT_DEBUG=1`` re-raises user errors too, for their traceback;
* hides the deprecation notices the pinned stack prints while a tool runs
  (:data:`STACK_NOISE`, matched by message: nothing else is hidden);
* prints mmvit's own warnings (e.g. the CPU fallback of
  :func:`mmvit.apis.prepare_distributed`) as ``warning: <message>``,
  without the source line Python adds.
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import sys
import warnings
from typing import Callable, Iterator, TypeVar

from mmengine.config import DictAction

T = TypeVar('T')

#: Exceptions a tool ends on without a traceback: missing files, bad
#: values (FormatMismatchError and the preflight's channel checks are
#: ValueErrors), what a runtime cannot do, files that cannot be written.
USER_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError,
               PermissionError, ValueError, NotImplementedError)

#: ``(category, message regex)`` of the third-party notices the tools hide:
#: mmengine 0.10 imports (and reloads) ``pkg_resources`` when it reads a
#: config, and setuptools >= 80 warns about that API each time.
STACK_NOISE = ((UserWarning, r'pkg_resources is deprecated as an API'), )

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def is_user_error(err: BaseException) -> bool:
    """Whether ``err`` is an expected user error: one of
    :data:`USER_ERRORS`, or a ``KeyError`` whose text is a sentence (an
    unknown arch of the backbones' tables, a type that is not in a
    registry), not a bare key as a failed lookup in the code raises."""
    if isinstance(err, USER_ERRORS):
        return True
    return (isinstance(err, KeyError) and len(err.args) == 1
            and isinstance(err.args[0], str) and ' ' in err.args[0].strip())


def _debug() -> bool:
    return os.environ.get('MMVIT_DEBUG', '') not in ('', '0')


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Inside: a user error (:func:`is_user_error`) prints ``error:
    <message>`` on stderr and raises ``SystemExit`` with exit code 2 (its
    text is that line); with ``MMVIT_DEBUG`` set it propagates as it is."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 (re-raised unless a user error)
        if _debug() or not is_user_error(err):
            raise
        # a KeyError's str() is the repr of its message
        text = err.args[0] if isinstance(err, KeyError) else str(err)
        line = f'error: {text}'
        print(line, file=sys.stderr)
        stop = SystemExit(line)
        stop.code = 2  # what the interpreter exits with (printing nothing)
        raise stop from None


def _format_warning(message, category, filename, lineno, line=None) -> str:
    if category.__module__.split('.')[0] == 'mmvit':
        return f'warning: {message}\n'
    return _PYTHON_FORMAT(message, category, filename, lineno, line)


_PYTHON_FORMAT = warnings.formatwarning


def run_cli(main: Callable[[], T]) -> T:
    """Run a tool's ``main()`` as a command: ``--debug`` taken off
    ``sys.argv`` (it sets ``MMVIT_DEBUG=1``, also for the processes the tool
    starts), :data:`STACK_NOISE` hidden, mmvit's warnings as one
    ``warning:`` line each, user errors as ``error: <message>`` and exit
    code 2 (:func:`user_errors`)."""
    argv = sys.argv[1:]
    end = argv.index('--') if '--' in argv else len(argv)
    if '--debug' in argv[:end]:
        argv.remove('--debug')
        sys.argv[1:] = argv
        os.environ['MMVIT_DEBUG'] = '1'
    for category, message in STACK_NOISE:
        warnings.filterwarnings('ignore', message=message, category=category)
    warnings.formatwarning = _format_warning
    with user_errors():
        return main()


# ---------------------------------------------------------------- arguments
def add_config_arguments(parser: argparse.ArgumentParser,
                         example: str = '') -> None:
    """``config`` and ``--cfg-options`` (:func:`add_cfg_options`)."""
    parser.add_argument('config', help='config file')
    add_cfg_options(parser, example)


def add_cfg_options(parser: argparse.ArgumentParser,
                    example: str = '') -> None:
    """``--cfg-options KEY=VALUE ...``, merged into the config (``example``:
    what the help shows as an example)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries' + (f', e.g. {example}'
                                          if example else ''))


def add_launcher_arguments(parser: argparse.ArgumentParser,
                           script: str) -> None:
    """``--launcher`` (``script``, the ``tools/dist_*.sh`` of the tool,
    passes pytorch) and the ``--local-rank`` of torch.distributed.launch;
    :func:`parse_launched_args` parses them."""
    parser.add_argument(
        '--launcher',
        choices=LAUNCHERS,
        default='none',
        help=f'job launcher ({script} passes pytorch)')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_launched_args(parser: argparse.ArgumentParser,
                        argv=None) -> argparse.Namespace:
    """``parser``'s arguments, ``LOCAL_RANK`` set from ``--local-rank``
    unless the launcher set it."""
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


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


def save_json(result, path) -> None:
    """Write a tool's ``result`` as JSON to ``path`` (its ``--out``; nothing
    without one), making the folder."""
    if path:
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(result, f, indent=1)
