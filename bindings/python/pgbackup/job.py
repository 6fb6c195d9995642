"""Backup jobs: one backup of a cluster into a repository, which another thread may cancel."""

import ctypes
import json
import threading

from ._lib import PGB_EINVALID, JobPtr, lib
from ._text import from_c
from .errors import Error


class Job:
    """A pgb_job: Job(repo, options) or repo.job(options); run() it once.

    Options are read when the job is made (see Repo.backup for the keys).
    run() blocks until the backup is committed and returns its catalog record
    as a dict; it holds the Context lock for the whole run, so other calls
    through the same Context wait. cancel() may be called from any thread at
    any time: it does not take the Context lock, and makes run() raise Error
    -9 (PGB_ECANCELED) as soon as the library notices, committing nothing. A
    cancel() before run() makes run() fail at once.

    The job keeps its Repo alive and is closed before it: closing the
    repository (or its storage or context) closes the job. Close it, use it in
    a with block, or let it be collected.

    After run(): backup_id (also after a failure: the id it was making),
    record (dict) and json (the record as the library wrote it).
    """

    _handle = None
    _repo = None  # so close() works on an object whose __init__ failed
    _free = lib.pgb_job_free

    def __init__(self, repo, options=None):
        from .repo import Repo  # here: repo.py imports this module

        # cancel() reads _handle and _running under this lock only, never the
        # Context lock, which run() holds for the whole backup.
        self._cancel_lock = threading.Lock()
        self._cancel_requested = False
        self._running = False
        self.backup_id = None
        self.record = None
        self.json = None
        if not isinstance(repo, Repo):
            raise TypeError(f"repo must be a pgbackup.Repo, not {type(repo).__name__}")
        handle = JobPtr()

        def make(repo_handle, opts):
            status = lib.pgb_job_new(ctypes.byref(handle), repo_handle, opts)
            if status == 0:
                # Under the lock: a close of the repository from another
                # thread either comes before the call or sees this job.
                self._handle = handle
                self._repo = repo
                repo._dependents.add(self)
            return status

        repo._run_with_options(options, make)

    @property
    def repo(self):
        return self._repo

    @property
    def closed(self):
        return self._handle is None

    @property
    def running(self):
        """True while run() is inside the library."""
        return self._running

    def run(self):
        """Run the backup; return the committed record as a dict. A job runs once.

        Raises Error: -9 (PGB_ECANCELED) after cancel(), -12 (PGB_ELOCKED),
        -7 (PGB_ECONNECTION), -6 (PGB_ECORRUPT), -3 for a second run.
        """
        repo = self._repo
        if repo is None:
            raise Error(PGB_EINVALID, "the job is closed")
        context = repo.storage.context

        def run_job(_repo_handle):
            job = self._handle
            if job is None:
                raise Error(PGB_EINVALID, "the job is closed")
            ctx = context._handle  # valid: we hold its lock and it is open
            with self._cancel_lock:
                # pgb_job_cancel sets the context's cancel flag, which outlives
                # the job: clear what an earlier job may have left, but keep a
                # cancel() that came before this run.
                lib.pgb_ctx_reset_cancel(ctx)
                if self._cancel_requested:
                    lib.pgb_job_cancel(job)
                self._running = True
            try:
                status = lib.pgb_job_run(job)  # ctypes releases the GIL: cancel() can run meanwhile
            finally:
                with self._cancel_lock:
                    self._running = False
                # A cancel() that came as the run ended must not stop the
                # context's next call. The error of the run is kept.
                lib.pgb_ctx_reset_cancel(ctx)
            self.backup_id = from_c(lib.pgb_job_backup_id(job))
            if status == 0:
                self.json = from_c(lib.pgb_job_to_json(job))
            return status

        repo._run(run_job)
        self.record = json.loads(self.json)
        return self.record

    def cancel(self):
        """Ask the job to stop; returns at once. Safe from any thread; a finished or closed job ignores it."""
        with self._cancel_lock:
            self._cancel_requested = True
            if self._running and self._handle is not None:
                lib.pgb_job_cancel(self._handle)

    def close(self):
        """Free the job; waits for a run() in another thread to end. Safe to repeat."""
        repo = self._repo
        if repo is None:
            return
        with repo.storage.context._lock:  # not while run() is inside the library
            with self._cancel_lock:
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
        state = " closed" if self.closed else " running" if self._running else ""
        return f"<pgbackup.Job {self.backup_id}{state}>"
