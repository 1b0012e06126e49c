"""The command line: ``rnntui [train|generate|evaluate|info|watch|corpus|sentiment|neurons]``; no
command opens the app. One module per command (``parser.py`` builds them all).

Heavy imports (torch) happen inside the commands, so ``--help`` and the app's first frame
do not wait for them.
"""

from __future__ import annotations

import errno
import os
import sys

from rnntui.core.errors import RnntuiError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if sys.stderr is None:  # started with stderr closed (`2>&-`): progress and errors go nowhere
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the life of the process
    if sys.stdout is None:  # started with stdout closed (`>&-`)
        print("rnntui: error: standard output is closed; give rnntui somewhere to write "
              "(e.g. > /dev/null)", file=sys.stderr)
        return 2
    try:
        if not argv:
            # `rnntui` alone opens the app: building every command's parser took 12 ms of its start.
            from rnntui.cli.common import run_app

            return run_app(checkpoint=None, corpus=None, finetune=False)
        from rnntui.cli.parser import build_parser

        args = build_parser().parse_args(argv)
        return args.func(args)
    except RnntuiError as error:
        print(f"rnntui: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnntui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as error:
        if error.errno not in OUTPUT_ERRORS:
            raise
        from rnntui.cli.common import silence_stdout
        from rnntui.core.files import reason

        silence_stdout()  # so that Python's own flush at exit does not fail again
        print(f"rnntui: error: cannot write the output: {reason(error)}", file=sys.stderr)
        return 2


# What writing to stdout can fail with besides a closed pipe: a full disk or quota, a file
# too large, a terminal gone.
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF)


