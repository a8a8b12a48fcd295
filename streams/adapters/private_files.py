"""Folders and files that only douane's own user may read: ``DOUANE_HOME`` and what is in it.

douane's data (audit log, data keys, the vault of personal values, signing keys, Kafka's log
segments) holds metadata about citizens' requests and, in the vault and in Kafka, the values
themselves. Another local account must not read them, whatever the umask of the shell that
started douane: folders douane creates are 0700 and files 0600.

A folder that already exists keeps its mode (it may be /var/lib or a mount the operator set up
on purpose); only the missing ones are created, each 0700, from the top down (``Path.mkdir``
with ``parents=True`` would give the parents the umask's mode instead).
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_private_folder(path: Path) -> None:
    """Create ``path`` and any missing parent, each with mode 0700; an existing one is kept."""
    missing: list[Path] = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it first; its creator used this same function
        os.chmod(folder, PRIVATE_FOLDER_MODE)  # a umask such as 0o277 cannot loosen it either


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (its folder made private)."""
    make_private_folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))


def open_private_for_append(path: Path) -> int:
    """A descriptor appending to ``path``, created 0600 if missing (for ``open(fd, 'a')``)."""
    make_private_folder(path.parent)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE)


def tighten_to_private(path: Path) -> None:
    """Take group and other permissions off an existing file or folder of douane's (a store
    created by an older version with the umask's 0644); one owned by another account is left
    alone."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.getuid() and status.st_mode & 0o077:
        os.chmod(path, status.st_mode & 0o700)
