"""Repositories: backups of any number of clusters, kept on a Storage."""

import ctypes
import json

from ._lib import PGB_EINVALID, BackupListPtr, RepoPtr, lib
from ._text import from_c
from .errors import Error
from .options import options_for_call
from .storage import Storage


class Repo:
    """An open pgb_repo: made by Repo.init() or Repo.open(), never directly.

    It keeps its Storage (and so its Context) alive, and is closed before them:
    closing the storage or the context closes it. Closing releases the writer
    lock if this handle holds it. Close it, use it in a with block, or let it
    be collected.

    id, encryption and can_read are read once, when it opens.
    """

    _handle = None
    _storage = None
    _free = lib.pgb_repo_close

    def __init__(self):
        raise TypeError("use Repo.init(storage, options) or Repo.open(storage, options)")

    @classmethod
    def init(cls, storage, options=None):
        """Create a repository on storage (or add a cluster to an existing one) and open it.

        options: an Options or a mapping, such as {"passphrase-file": path} or
        {"recipient": [pub1, pub2], "writer-key": path}; a list value sets a
        repeatable option once per item. Encryption is chosen here and never
        changes. Raises Error with code -11 (PGB_EREFUSED) when the storage
        holds objects but no repository, and -5 (PGB_EEXISTS) when the writer
        key file exists already.
        """
        return cls._make(lib.pgb_repo_init, storage, options)

    @classmethod
    def open(cls, storage, options=None):
        """Open an existing repository.

        An encrypted one needs a key among the options passphrase-file,
        identity and writer-key (the default writer key file,
        ~/.config/pgbackup/<id>.writer-key, is tried last). Raises Error with
        code -4 (PGB_ENOTFOUND) when there is no repository, and -13
        (PGB_EAUTH) for a missing or wrong key.
        """
        return cls._make(lib.pgb_repo_open, storage, options)

    @classmethod
    def _make(cls, create, storage, options):
        if not isinstance(storage, Storage):
            raise TypeError(f"storage must be a pgbackup.Storage, not {type(storage).__name__}")
        self = cls.__new__(cls)
        handle = RepoPtr()

        def create_and_adopt(storage_handle):
            status = create(ctypes.byref(handle), storage_handle, opts)
            if status == 0:
                # Under the lock: a close of the storage from another thread
                # either comes before the call or sees this repository.
                self.id = from_c(lib.pgb_repo_id(handle))
                self.encryption = from_c(lib.pgb_repo_encryption(handle))
                self.can_read = lib.pgb_repo_can_read(handle) == 1
                self._handle = handle
                self._storage = storage
                storage._dependents.add(self)
            return status

        with options_for_call(options, storage.context) as opts:
            storage._run(create_and_adopt)
        return self

    @property
    def storage(self):
        return self._storage

    @property
    def closed(self):
        return self._handle is None

    def _run(self, call):
        def with_handle(_storage_handle):
            if self._handle is None:
                raise Error(PGB_EINVALID, "the repository is closed")
            return call(self._handle)

        if self._storage is None:
            raise Error(PGB_EINVALID, "the repository is closed")
        return self._storage._run(with_handle)

    def lock(self):
        """Take the writer lock of the cluster (one writer at a time; readers need none).

        Raises Error with code -12 (PGB_ELOCKED) naming the holder's pid, host
        and start time. Taking it again through the same handle does nothing.
        """
        self._run(lib.pgb_repo_lock)

    def unlock(self):
        """Release the writer lock if this handle holds it."""
        self._run(lib.pgb_repo_unlock)

    def list(self):
        """The backup records of the cluster, oldest first, as dicts (the JSON schema of the C API)."""
        backups = BackupListPtr()
        self._run(lambda repo: lib.pgb_repo_list(ctypes.byref(backups), repo))
        try:
            document = from_c(lib.pgb_backup_list_to_json(backups))
        finally:
            lib.pgb_backup_list_free(backups)
        return json.loads(document)

    def close(self):
        """Close the repository, releasing its lock if it holds it. Safe to repeat."""
        storage = self._storage
        if storage is None:
            return
        with storage.context._lock:  # not while another thread is inside a call on it
            handle, self._handle = self._handle, None
            if handle is not None:
                storage._dependents.discard(self)
                type(self)._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        state = " closed" if self.closed else ""
        return f"<pgbackup.Repo {getattr(self, 'id', None)} encryption={getattr(self, 'encryption', None)}{state}>"
