"""The consoles every command prints through: one place, so ``legwatch --quiet`` reaches them all.

``console`` (stderr) carries progress and errors and is silenced by ``--quiet``; ``out`` (stdout)
carries results, which scripts read.
"""

import os

from rich.console import Console

#: Width of results written to a file or a pipe, which has no width of its own (rich would take
#: 80 and cut the nights table's columns to "2026…"); $COLUMNS still wins.
PIPE_WIDTH = 160

console = Console(stderr=True)
# soft_wrap: a summary line is never broken (and padded) at the console's width
out = Console(soft_wrap=True)
if not out.is_terminal and "COLUMNS" not in os.environ:
    out.width = PIPE_WIDTH
