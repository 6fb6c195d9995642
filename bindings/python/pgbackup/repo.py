"""Repositories: backups of any number of clusters, kept on a Storage."""

import ctypes
import json
import weakref

from ._lib import PGB_EINVALID, BackupListPtr, RepoPtr, VerifyReportPtr, lib
from ._text import from_c, to_c
from .errors import Error
from .job import Job
from .options import options_for_call
from .restore import RestorePlan
from .storage import Storage
from .verify import read_report


class Repo:
    """An open pgb_repo: made by Repo.init() or Repo.open(), never directly.

    It keeps its Storage (and so its Context) alive, and is closed before them:
    closing the storage or the context closes it. Jobs and restore plans made
    from it keep it alive in turn, and closing it closes them first. Closing
    releases the writer lock if this handle holds it. Close it, use it in a
    with block, or let it be collected.

    id, encryption and can_read are read once, when it opens.
    """

    _handle = None
    _storage = None
    _dependents = ()
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
        # Jobs and restore plans made from it; C requires them freed before it.
        self._dependents = weakref.WeakSet()
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

    def _run_with_options(self, options, call):
        """call(repo_handle, options_handle) under the context lock (and that of the options' context)."""
        if self._storage is None:
            raise Error(PGB_EINVALID, "the repository is closed")
        with options_for_call(options, self._storage.context) as opts:
            return self._run(lambda repo: call(repo, opts))

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

    def job(self, options=None):
        """A backup Job, ready to run(); see Job. Options are read now."""
        return Job(self, options)

    def backup(self, options=None):
        """Back up a cluster into this repository and return the committed record as a dict.

        options (an Options or a mapping): "pg" (libpq conninfo), "type"
        (physical), "mode" ("stream", or "local" on the database host),
        "incremental" (True: store only what changed since the newest
        physical backup, which becomes "parent"), "checkpoint" ("fast" or
        "spread"), "compress", "label". The job takes
        the cluster's writer lock for its run and releases it after, also when
        this handle held it before. The record is the catalog's JSON: id, type,
        mode, incremental, parent, start_lsn, stop_lsn, database_size,
        stored_size, files, wal, ... Raises Error: -12 (PGB_ELOCKED) when
        another writer holds the cluster, -7 (PGB_ECONNECTION), -6 (PGB_ECORRUPT)
        when the server found damaged pages; a failed backup commits nothing.
        To cancel from another thread, use job() and Job.cancel().
        """
        with Job(self, options) as job:
            return job.run()

    def restore_plan(self, options):
        """Plan a physical restore (checked, not yet run); see RestorePlan.

        options: "to" (required: an empty or absent folder), "backup" (an id;
        default the newest physical backup), "delta", "tablespace-map"
        (OLD=NEW, a list for several), "config-to". Raises Error -11
        (PGB_EREFUSED) for a target that is not empty or has a server running
        on it, or a tablespace location in use; -4 (PGB_ENOTFOUND) for an
        unknown backup; -13 (PGB_EAUTH) when this handle cannot read content.
        """
        return RestorePlan(self, options)

    def restore(self, options):
        """Plan and run a restore at once; return the plan as a dict (see RestorePlan.info)."""
        with RestorePlan(self, options) as plan:
            plan.execute()
            return plan.info

    def verify(self, backup_id=None, options=None):
        """Verify a backup inside the repository without restoring it; return a VerifyReport.

        backup_id: an id as list() gives, or None for the newest physical
        backup. options: an Options or a mapping, such as {"jobs": 4} (worker
        threads reading the files back; the findings are the same whatever
        their number). Every chunk is read back and checked; problems are
        collected in the report (report.ok is False when there are any), never
        raised. Raises Error -4 (PGB_ENOTFOUND) for an unknown id, -13
        (PGB_EAUTH) when this handle holds only the writer key.
        """
        wanted = None if backup_id is None else to_c(backup_id, "backup id")
        report = VerifyReportPtr()
        self._run_with_options(options, lambda repo, opts: lib.pgb_verify_backup_with_options(
            ctypes.byref(report), repo, wanted, opts))
        return read_report(report, of_backup=True)

    def wal_push(self, path, options=None):
        """Archive one WAL file, as archive_command does ('... wal-push %p').

        path: the file (str or path; relative to the current directory). Its
        name says what it is: a segment, TTTTTTTT.history, a .backup or a
        .partial file. options: an Options or a mapping, such as {"compress":
        "zstd:9"} (default zstd:3); {"jobs": 2} or more also pushes the
        segments ready after it (archive_status/*.ready, up to "push-ahead",
        default 4 x jobs) in parallel, marking them in "spool-dir" (default
        pgbackup.spool beside the file) so that their own calls return at
        once. Returns once the file is durable. Pushing
        an identical file again succeeds. Raises Error -5 (PGB_EEXISTS) when
        the archive holds different content under the name (the archived copy
        is kept), -6 (PGB_ECORRUPT) for a file named as a segment that is not
        one, -3 (PGB_EINVALID) for a name that is not a WAL file's, -4
        (PGB_ENOTFOUND) when the local file is missing.
        """
        source = to_c(path, "WAL file path")
        if options is None:
            self._run(lambda repo: lib.pgb_wal_push(repo, source))
        else:
            self._run_with_options(options, lambda repo, opts: lib.pgb_wal_push_with_options(repo, source, opts))

    def wal_fetch(self, name, destination, options=None):
        """Restore one archived WAL file, as restore_command does ('... wal-fetch %f %p').

        name: the file's name as the server asks for it (%f); destination:
        where to write it (%p), which appears only once complete (written
        through a temporary file, synced and renamed). A segment archived only
        as <name>.partial is served from it. options: an Options or a mapping,
        such as {"prefetch": 8}: also fetch the 8 segments after a segment into
        the spool ("spool-dir", default pgbackup.spool beside destination),
        from which the next calls are served without reaching the repository
        (default 0: none). Raises Error -4 (PGB_ENOTFOUND) only when the file
        is certainly not archived, -13 (PGB_EAUTH) when this handle holds only
        the writer key, -6 (PGB_ECORRUPT) for damage.
        """
        wanted = to_c(name, "WAL file name")
        target = to_c(destination, "destination")
        if options is None:
            self._run(lambda repo: lib.pgb_wal_fetch(repo, wanted, target))
        else:
            self._run_with_options(options, lambda repo, opts: lib.pgb_wal_fetch_with_options(
                repo, wanted, target, opts))

    def close(self):
        """Close the repository (its jobs and restore plans first), releasing its lock. Safe to repeat."""
        storage = self._storage
        if storage is None:
            return
        with storage.context._lock:  # not while another thread is inside a call on it
            for dependent in list(self._dependents):
                dependent.close()
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
