"""Entry point of the ``nnbasics`` command: one sub-command per module in :data:`COMMANDS`.

Each sub-command module defines ``register(subparsers)``, which adds its parser and sets
``func`` (taking the parsed arguments, returning an exit code).  Errors the user can fix
(``ValueError``, ``TypeError``, ``OSError``, ``KeyError`` from bad input) print one line
``nnbasics: error: ...`` and exit with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Sub-command modules under nnbasics.cli, in the order ``--help`` lists them.
COMMANDS = ["check", "word2vec", "train", "evaluate", "predict", "sentiment", "grade"]


class UsageError(Exception):
    """A problem with the command line or its inputs: reported in one line, exit code 2."""


class OneLineErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of printing the usage
    and exiting, so that :func:`main` reports them like every other error: one line, exit 2.
    Sub-command parsers inherit the class (``add_subparsers`` uses the parent's class)."""

    def error(self, message: str):
        command = self.prog.removeprefix("nnbasics").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    from nnbasics import __version__

    parser = OneLineErrorParser(
        prog="nnbasics",
        description="Neural networks from first principles: explicit, gradient-checked, fast.",
    )
    parser.add_argument("--version", action="version", version=f"nnbasics {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"nnbasics.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("nnbasics: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``nnbasics evaluate m.npz | head -3``): not an error to print.
        # As the program (argv from the command line), stdout's descriptor goes to devnull so
        # that Python's final flush does not raise again; called in-process with an argv (tests,
        # scripts), the caller's descriptors are left alone.
        if argv is None:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):  # no file descriptor behind sys.stdout
                pass
        return 128 + 13  # as a process killed by SIGPIPE
    except MemoryError:
        print("nnbasics: error: out of memory (a smaller network, batch or data set may fit)",
              file=sys.stderr)
        return 2
    except (UsageError, ValueError, TypeError, OSError, KeyError, EOFError) as exc:
        message = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0])
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            message = f"{exc.strerror}: {exc.filename}"
        print(
            f"nnbasics: error: {message.splitlines()[0] if message else type(exc).__name__}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
