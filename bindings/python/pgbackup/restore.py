"""Restore plans: a physical restore chosen and checked before anything is written."""

import ctypes
import json

from ._lib import PGB_EINVALID, RestorePlanPtr, lib
from ._text import from_c, message_from_c
from .errors import Error


class RestorePlan:
    """A pgb_restore_plan: RestorePlan(repo, options) or repo.restore_plan(options).

    Making it chooses the backup and checks the target (empty or absent, or
    option "delta"; no server running on it) and every tablespace's location.
    backup_id names the chosen backup; info is the plan as a dict and
    to_json() as the library wrote it: format_version, backup, target, delta,
    tablespaces [{oid, from, to}], files, bytes, start_lsn, stop_lsn, wal
    {first, last, count} (the backup's own WAL), recovery {target {kind,
    value, inclusive, timeline, action}, mode ("archive-recovery" or
    "backup-only"), timeline, timeline_path [{timeline, begin, end}],
    backup_wal_segments, archive_wal {first, last, segments, bytes},
    warnings}, archive_mode, restore_command, estimated_seconds. execute()
    writes the files, then the recovery settings.

    Point-in-time options: "target" (latest or immediate), "target-time",
    "target-lsn", "target-xid", "target-name", "target-inclusive",
    "target-timeline" (latest, current or a number), "target-action" (pause,
    promote, shutdown), "archive-mode" (preserve or off), "keep-replication",
    and "program", the pgbackup program restore_command runs (default:
    pgbackup on PATH), with "repo" and the key file options it needs.

    The plan keeps its Repo alive and is closed before it: closing the
    repository (or its storage or context) closes the plan. Close it, use it
    in a with block, or let it be collected.
    """

    _handle = None
    _repo = None  # so close() works on an object whose __init__ failed
    _free = lib.pgb_restore_plan_free

    def __init__(self, repo, options):
        from .repo import Repo  # here: repo.py imports this module

        if not isinstance(repo, Repo):
            raise TypeError(f"repo must be a pgbackup.Repo, not {type(repo).__name__}")
        handle = RestorePlanPtr()

        def make(repo_handle, opts):
            status = lib.pgb_restore_plan_new(ctypes.byref(handle), repo_handle, opts)
            if status == 0:
                self.backup_id = from_c(lib.pgb_restore_plan_backup_id(handle))
                self._json = message_from_c(lib.pgb_restore_plan_to_json(handle))
                self._handle = handle
                self._repo = repo
                repo._dependents.add(self)
            return status

        repo._run_with_options(options, make)
        self.info = json.loads(self._json)

    @property
    def repo(self):
        return self._repo

    @property
    def closed(self):
        return self._handle is None

    def to_json(self):
        """The plan as the library wrote it (str)."""
        return self._json

    def execute(self):
        """Run the plan: files (each checked against its SHA-256), WAL, backup_manifest, tablespace links.

        global/pg_control is written last, so a restore that fails never
        starts. Raises Error -6 (PGB_ECORRUPT) naming damaged content, -8
        (PGB_EIO), -11 (PGB_EREFUSED) when a server started on the target
        since the plan was made.
        """
        repo = self._repo
        if repo is None:
            raise Error(PGB_EINVALID, "the restore plan is closed")

        def execute(_repo_handle):
            if self._handle is None:
                raise Error(PGB_EINVALID, "the restore plan is closed")
            return lib.pgb_restore_plan_execute(self._handle)

        repo._run(execute)

    def close(self):
        """Free the plan. Safe to repeat."""
        repo = self._repo
        if repo is None:
            return
        with repo.storage.context._lock:  # not while another thread is inside a call on it
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
        target = getattr(self, "info", {}).get("target")
        return f"<pgbackup.RestorePlan {getattr(self, 'backup_id', None)} -> {target!r}{' closed' if self.closed else ''}>"
