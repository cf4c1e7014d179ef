"""Files you can trust: atomic writes under a unique temporary name, and content checksums.

Every file relaywidgets writes (models, recordings) goes through :func:`atomic_write`: the bytes go to a
temporary file of a unique name next to the target, are flushed to disk and then moved over the target with
``os.replace``, so a reader sees either the old file or the complete new one, two writers to one path never
share a temporary file, and a failed write leaves nothing behind. Operating-system errors (disk full,
permission, a directory in the way) come back as the caller's own error type with a message that says what
to do. :func:`content_digest` is the SHA-256 both formats store to detect corrupted bytes on load.
This module needs the standard library and numpy only.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .errors import RelaywidgetsError

__all__ = ["atomic_write", "describe_os_error", "content_digest", "TEMP_SUFFIX"]

_BLOCK_BYTES = 64 * 2**20  # hashing works through arrays in blocks of about this size

#: Suffix of the temporary files :func:`atomic_write` creates (``.<name>.<random>.tmp`` beside the target).
TEMP_SUFFIX = ".tmp"

# The process umask, read once: mkstemp creates files readable by the owner only (0600), while a saved model
# or recording should get the permissions any other new file would (0666 masked by the umask).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def describe_os_error(exc: OSError, path: Path, what: str) -> str:
    """A sentence saying why writing ``what`` to ``path`` failed and what to do, for the common errnos.

    Examples
    --------
    >>> import errno
    >>> describe_os_error(OSError(errno.ENOSPC, "No space left on device"), Path("/data/r.nc"), "recording")
    "Could not write the recording to '/data/r.nc': the disk is full (No space left on device). Free some space or save to another disk."
    """
    code = exc.errno
    reason = exc.strerror or str(exc)
    where = f"Could not write the {what} to {str(path)!r}"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return f"{where}: the disk is full ({reason}). Free some space or save to another disk."
    if code == errno.EFBIG:
        return f"{where}: the file would exceed the size limit for files here ({reason}). Save to another disk or raise the limit (ulimit -f)."
    if code in (errno.EACCES, errno.EPERM):
        return f"{where}: permission denied ({reason}). Save into a directory you can write to, or change its permissions."
    if code == errno.EROFS:
        return f"{where}: the file system is read-only ({reason}). Save to a writable location."
    if code == errno.EISDIR:
        return f"{where}: that path is a directory. Pass a file name, e.g. {str(path / ('file.' + what[:3]))!r}."
    if code in (errno.ENOTDIR, errno.ENOENT):
        return f"{where}: a part of the path is not a directory or does not exist ({reason}). Check the path."
    if code == errno.ENAMETOOLONG:
        return f"{where}: the file name is too long ({reason}). Use a shorter name."
    return f"{where} ({type(exc).__name__}: {reason})."


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[Any], None],
    *,
    error: type[RelaywidgetsError],
    what: str,
) -> Path:
    """Write a file atomically: ``write(fh)`` fills a unique temporary file, which then replaces ``path``.

    Missing parent directories are created. The temporary file is created beside ``path`` (same file system,
    so the final ``os.replace`` is atomic) with a unique name, flushed and fsynced before the move, and removed
    whatever goes wrong, including a ``KeyboardInterrupt``.

    Parameters
    ----------
    path : str or os.PathLike
        The target file; an existing file is replaced only once the new one is complete.
    write : callable
        Called with a binary file object open for writing.
    error : type
        The relaywidgets error raised for operating-system errors (e.g. ``RecordingError``).
    what : str
        What is written, for messages ("model", "recording").

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    error
        When the target is a directory or the file cannot be written (disk full, permission, ...); the message
        names the cause and what to do.

    Examples
    --------
    >>> import tempfile
    >>> from relaywidgets.errors import InputError
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a" / "x.bin", lambda fh: fh.write(b"data"), error=InputError, what="file").read_bytes()
    b'data'
    >>> sorted(p.name for p in (folder / "a").iterdir())  # no temporary file left behind
    ['x.bin']
    """
    path = Path(os.fspath(path))
    if path.is_dir():
        raise error(
            f"Could not write the {what} to {str(path)!r}: that path is a directory. Pass a file name inside it, "
            f"e.g. {str(path / ('file.' + what[:3]))!r}."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(
            f"Could not create the directory {str(path.parent)!r} for the {what} "
            f"({exc.strerror or exc}). Create it yourself or save elsewhere."
        ) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise error(describe_os_error(exc, path, what)) from None
    tmp = Path(tmp_name)
    try:
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)
            os.replace(tmp, path)
        except OSError as exc:
            raise error(describe_os_error(exc, path, what)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def content_digest(items: Iterable[tuple[str, np.ndarray]]) -> str:
    """SHA-256 (hex) of named arrays: each name, dtype, shape and raw bytes in the order given.

    String arrays are hashed through their UTF-8 text, so ``<U`` and object arrays of the same strings agree
    (netCDF may read fixed-width strings back as objects).

    Examples
    --------
    >>> x = np.arange(3, dtype=np.int64)
    >>> content_digest([("x", x)]) == content_digest([("x", x.copy())])
    True
    >>> content_digest([("x", x)]) == content_digest([("x", x[::-1])])
    False
    """
    h = hashlib.sha256()
    for name, arr in items:
        arr = np.asarray(arr)
        h.update(name.encode("utf-8") + b"\0")
        h.update(str(arr.shape).encode() + b"\0")
        if arr.dtype.kind in "UOS":
            h.update(b"str\0")
            h.update("\0".join(str(v) for v in arr.ravel().tolist()).encode("utf-8", "surrogatepass"))
        else:
            h.update(arr.dtype.str.encode() + b"\0")
            flat = arr.reshape(1) if arr.ndim == 0 else arr
            # in blocks of leading-axis rows: a transposed view is not copied whole just to be hashed
            step = max(1, _BLOCK_BYTES // max(1, flat[:1].nbytes))
            for start in range(0, flat.shape[0], step):
                block = np.ascontiguousarray(flat[start : start + step])
                if block.dtype.kind in "fc":
                    # one NaN for all: netCDF readers give back the canonical NaN for any stored payload
                    nan = np.isnan(block)
                    if nan.any():
                        block = np.where(nan, np.array(np.nan, dtype=block.dtype), block)
                h.update(block.tobytes())
        h.update(b"\1")
    return h.hexdigest()
