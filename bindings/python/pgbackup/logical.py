"""Logical restores (of logical and globals backups) and the objects a logical backup holds."""

import ctypes
import json

from ._lib import PGB_EINVALID, BackupContentsPtr, LogicalRestorePtr, lib
from ._text import from_c, message_from_c, to_c
from .errors import Error


class LogicalRestore:
    """A pgb_logical_restore: LogicalRestore(repo, options), planned and checked, then execute().

    Making it reads the backup's table of contents, connects to the target
    server ("pg"), finds pg_restore ("pg-bindir" or pg_config --bindir) and
    checks what can be checked before anything changes. Options: "type"
    ("logical", the default, or "globals"), "backup" (default: the newest of
    that type), "db" (the backup's database; may be left out when it holds
    one), "target-db" (default: the same name), "create" (make the database
    with the recorded encoding, locale, owner, grants, comment and settings),
    "clean", "table" and "schema" (a name or a list: a selective restore),
    "jobs", "analyze" (default True).

    info is the plan as a dict (format_version, type, backup, database,
    target_db, create, clean, jobs, analyze, mode, input, dump_size, entries,
    entries_total, tables, schemas, objects, skipped); execute() runs it and
    returns the report (the plan with seconds and analyzed; for globals:
    statements, roles_existing, tablespaces_existing, errors).

    Raises Error: -4 (PGB_ENOTFOUND) for an unknown backup, database, table,
    schema or missing client programs; -11 (PGB_EREFUSED) for a target that
    exists (create without clean, or a selected table); -10
    (PGB_EUNSUPPORTED) for client programs older than the server; -3
    (PGB_EINVALID) for bad options or a backup of another type.

    The plan keeps its Repo alive and is closed before it. Close it, use it in
    a with block, or let it be collected.
    """

    _handle = None
    _repo = None
    _free = lib.pgb_logical_restore_free

    def __init__(self, repo, options):
        from .repo import Repo  # here: repo.py may import this module

        if not isinstance(repo, Repo):
            raise TypeError(f"repo must be a pgbackup.Repo, not {type(repo).__name__}")
        handle = LogicalRestorePtr()

        def make(repo_handle, opts):
            status = lib.pgb_logical_restore_new(ctypes.byref(handle), repo_handle, opts)
            if status == 0:
                self.backup_id = from_c(lib.pgb_logical_restore_backup_id(handle))
                self._json = message_from_c(lib.pgb_logical_restore_to_json(handle))
                self._handle = handle
                self._repo = repo
                repo._dependents.add(self)
            return status

        repo._run_with_options(options, make)
        self.info = json.loads(self._json)

    @property
    def closed(self):
        return self._handle is None

    def to_json(self):
        """The plan (after execute(): the report) as the library wrote it (str)."""
        return self._json

    def execute(self):
        """Run the restore; return the report as a dict. A plan runs once.

        Raises Error -1 (PGB_ERROR) with pg_restore's messages (a whole
        restore with one job, and every selective one, runs in one
        transaction: a failure changes nothing; with "create", a failure drops
        the database it made), or for a globals restore naming the statements
        that failed (the others ran).
        """
        repo = self._repo
        if repo is None:
            raise Error(PGB_EINVALID, "the logical restore is closed")

        def execute(_repo_handle):
            if self._handle is None:
                raise Error(PGB_EINVALID, "the logical restore is closed")
            status = lib.pgb_logical_restore_execute(self._handle)
            self._json = message_from_c(lib.pgb_logical_restore_to_json(self._handle))
            return status

        repo._run(execute)
        self.info = json.loads(self._json)
        return self.info

    def close(self):
        """Free the plan. Safe to repeat."""
        repo = self._repo
        if repo is None:
            return
        with repo.storage.context._lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                repo._dependents.discard(self)
                type(self)._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        info = getattr(self, "info", {})
        return (f"<pgbackup.LogicalRestore {getattr(self, 'backup_id', None)} {info.get('database')!r} -> "
                f"{info.get('target_db')!r}{' closed' if self.closed else ''}>")


def backup_contents(repo, backup_id, databases=None):
    """The objects of a logical backup, read from its stored tables of contents (no dump is read).

    Returns a dict: format_version, backup, databases: [{name, objects: [{id,
    kind, schema, name, owner, depends_on}]}]. databases (a name or a list)
    limits it. Raises Error -4 (PGB_ENOTFOUND) for an unknown backup or
    database, -3 (PGB_EINVALID) for a backup that is not logical.
    """
    contents = BackupContentsPtr()
    backup = to_c(backup_id, "backup id")
    options = None if databases is None else {"db": databases}

    def read(repo_handle, opts):
        return lib.pgb_backup_contents_read(ctypes.byref(contents), repo_handle, backup, opts)

    repo._run_with_options(options, read)
    try:
        return json.loads(from_c(lib.pgb_backup_contents_to_json(contents)))
    finally:
        lib.pgb_backup_contents_free(contents)
