"""File storage for Vertebro Voice: cached audio and uploaded voice samples.

:class:`LocalFileStore` keeps each file under a root directory (``VOICE_FILE_STORAGE_DIR``),
as ``<namespace>/<id[:2]>/<id>``. Writes are atomic (temporary file, fsync, rename), so a
crash never leaves a half-written file under a valid id. The interface (``put``/``get``/
``delete``/``exists``) is what another backend (object storage, GridFS) would implement.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import anyio.to_thread

from adapters.storage.database import StorageUnavailable

__all__ = ["FileNotStored", "FileStoreUnavailable", "LocalFileStore"]

_ID = re.compile(r"^[a-z0-9_-]{1,40}/[0-9a-f]{32}$")


class FileNotStored(LookupError):
    """No file with that id (never stored, or deleted)."""


class FileStoreUnavailable(StorageUnavailable):
    """The file store cannot write (disk full, read-only, I/O error): a storage outage, answered
    with the operation's declared 503 like a database outage; nothing was stored."""


class LocalFileStore:
    """Files in a local directory. Ids look like ``audio/<32 hex>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, file_id: str) -> Path:
        if not _ID.match(file_id):
            raise FileNotStored(file_id)
        namespace, name = file_id.split("/")
        return self.root / namespace / name[:2] / name

    def _put(self, namespace: str, data: bytes) -> str:
        file_id = f"{namespace}/{secrets.token_hex(16)}"
        path = self._path(file_id)
        tmp = path.with_name(path.name + ".tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as exc:  # ENOSPC, EROFS, EIO …: nothing half-written stays behind
            tmp.unlink(missing_ok=True)
            raise FileStoreUnavailable(f"the file store cannot write: {exc.strerror or exc}") from exc
        return file_id

    async def put(self, namespace: str, data: bytes) -> str:
        """Store ``data``; returns its new id ``<namespace>/<hex>``. Raises
        :class:`FileStoreUnavailable` when the disk refuses the write."""
        return await anyio.to_thread.run_sync(self._put, namespace, data)

    async def get(self, file_id: str) -> bytes:
        """The bytes of ``file_id``; raises :class:`FileNotStored`."""

        def read() -> bytes:
            try:
                return self._path(file_id).read_bytes()
            except FileNotFoundError:
                raise FileNotStored(file_id) from None

        return await anyio.to_thread.run_sync(read)

    async def delete(self, file_id: str) -> bool:
        """Remove ``file_id``; False when it was not there."""

        def remove() -> bool:
            try:
                self._path(file_id).unlink()
                return True
            except (FileNotFoundError, FileNotStored):
                return False

        return await anyio.to_thread.run_sync(remove)

    async def exists(self, file_id: str) -> bool:
        """True when ``file_id`` is stored (a malformed id is simply not stored)."""
        try:
            return await anyio.to_thread.run_sync(self._path(file_id).is_file)
        except FileNotStored:
            return False
