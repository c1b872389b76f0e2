"""``maild import``: years of history from an mbox, a Maildir or a folder of .eml files, through
the same pipeline and writer as live mail, with the same guarantees (stored once, in an order
that lets replies thread, restartable at any point).

May import ``maild.config``, ``maild.pipeline``, ``maild.runtime``, ``parsing``, ``storage``.
"""

from maild.importing.runner import ImportSummary, Progress, dry_run, run_import
from maild.importing.sources import Archive, ArchiveError, Entry, open_archive

__all__ = [
    "Archive",
    "ArchiveError",
    "Entry",
    "ImportSummary",
    "Progress",
    "dry_run",
    "open_archive",
    "run_import",
]
