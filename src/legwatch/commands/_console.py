"""The consoles every command prints through: one place, so ``legwatch --quiet`` reaches them all.

``console`` (stderr) carries progress and errors and is silenced by ``--quiet``; ``out`` (stdout)
carries results, which scripts read.
"""

from rich.console import Console

console = Console(stderr=True)
out = Console()
