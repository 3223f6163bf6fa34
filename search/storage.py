"""Atomic directory writes, file checksums and file modes: an index directory is replaced whole or not at all.

Test hook: `fault_point(name)` kills the process (SIGKILL, no cleanup) when the environment variable
``TRIALKB_FAULT_POINT`` equals ``name``, so a test can stop a writer at a named instant and check what
a crash there leaves behind. Unset (always, outside tests) it costs one dictionary lookup. The points:
``after-sources``, ``after-snapshot``, ``before-manifest``, ``after-manifest`` (see `kb.store`) and
``during-<directory>`` (here: the new directory is complete but not yet swapped in; ``during-index``
for the passage index).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
FAULT_POINT_VARIABLE = "TRIALKB_FAULT_POINT"


def fault_point(name: str) -> None:
    """Die here, as a crash would, when ``TRIALKB_FAULT_POINT`` names this point (a test hook)."""
    if os.environ.get(FAULT_POINT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@functools.cache
def _umask() -> int:
    """The process's umask, read once: from /proc where it can be read without changing it (setting
    and restoring it would race with other threads creating files); otherwise by setting and restoring."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            found = re.search(r"^Umask:\s*([0-7]+)$", status.read(), re.MULTILINE)
        if found:
            return int(found.group(1), 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0666 less the umask): what ``mkstemp``'s 0600 is
    widened to, so that a server running as another user can read what a writer committed."""
    return 0o666 & ~_umask()


def directory_mode() -> int:
    """The mode ``mkdir`` would give a new directory (0777 less the umask), for ``mkdtemp``'s 0700."""
    return 0o777 & ~_umask()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry to disk (directories cannot be fsynced on Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if Path(path).is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(second))


def replace_directory(staging: Path, destination: Path) -> None:
    """Put the complete ``staging`` directory at ``destination``, replacing what was there.

    On Linux the two directories are exchanged atomically, so a reader sees the old or the new index,
    never neither. Elsewhere the old one is first moved aside (a crash in between leaves it beside
    ``destination`` as ``.<name>.old-*``).
    """
    if not destination.exists():
        os.rename(staging, destination)
    elif _exchange(staging, destination):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        backup = Path(tempfile.mkdtemp(prefix=f".{destination.name}.old-", dir=destination.parent))
        backup.rmdir()
        os.rename(destination, backup)
        os.rename(staging, destination)
        shutil.rmtree(backup, ignore_errors=True)
    fsync_path(destination.parent)


@contextlib.contextmanager
def atomic_directory(destination: Path) -> Iterator[Path]:
    """Yield an empty sibling directory to fill; on success it replaces ``destination``.

    Every file in it is fsynced before the swap. On an exception the staging directory is removed and
    ``destination`` is left untouched.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
    try:
        yield staging
        for path in sorted(staging.rglob("*")):
            fsync_path(path)
        fsync_path(staging)
        os.chmod(staging, directory_mode())  # mkdtemp makes it owner-only
        fault_point(f"during-{destination.name}")
        replace_directory(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
