"""Receiving WAL continuously into a repository (pgbackup wal-receive), in a thread of the program's."""

import ctypes
import threading

from ._lib import PGB_EINVALID, WalReceiverPtr, lib
from ._text import from_c
from .errors import Error


def format_lsn(position):
    """A WAL position as PostgreSQL prints it: "16/B374D848"."""
    return "%X/%X" % (position >> 32, position & 0xFFFFFFFF)


class WalReceiver:
    """A pgb_wal_receiver: WalReceiver(repo, options), then run() it once.

    Streams WAL from PostgreSQL through a permanent physical slot (made if
    missing) into the repository: each complete segment as wal-push stores
    it, the unfinished one as <segment>.partial, which wal_fetch serves when
    the segment itself is missing. It resumes after the end of what the
    repository holds, reconnects after disconnects and follows timeline
    switches. Options (an Options or a mapping), read when it is made: "pg"
    (libpq conninfo), "slot" (default pgbackup_<cluster>),
    "status-interval" (seconds), "partial-interval" (milliseconds between
    stores of the partial while WAL flows; 0 stores it at every pause),
    "compress".

    run() blocks until stop() and holds the Context lock the whole time:
    other calls through the same Context wait. start() runs it in a thread of
    its own instead. stop(), received_lsn, flushed_lsn and timeline may be
    used from any thread at any time; they do not take the Context lock.
    flushed_lsn is what is durable in the repository, and never less than
    what the server was told is flushed.

    The receiver keeps its Repo alive and is closed before it. Close it, use
    it in a with block (which stops and closes it), or let it be collected.
    """

    _handle = None
    _repo = None  # so close() works on an object whose __init__ failed
    _free = lib.pgb_wal_receiver_free

    def __init__(self, repo, options=None):
        from .repo import Repo  # here: repo.py may import this module

        if not isinstance(repo, Repo):
            raise TypeError(f"repo must be a pgbackup.Repo, not {type(repo).__name__}")
        # The accessors and stop() read _handle under this lock only, never the
        # Context lock, which run() holds for the whole run.
        self._state_lock = threading.Lock()
        self._stop_requested = False
        self._running = False
        self._thread = None
        self._thread_error = None
        self.slot = None
        handle = WalReceiverPtr()

        def make(repo_handle, opts):
            status = lib.pgb_wal_receiver_new(ctypes.byref(handle), repo_handle, opts)
            if status == 0:
                self._handle = handle
                self._repo = repo
                self.slot = from_c(lib.pgb_wal_receiver_slot(handle))
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

    def _read(self, accessor):
        with self._state_lock:
            return 0 if self._handle is None else accessor(self._handle)

    @property
    def received_lsn(self):
        """How far WAL has been received, as "X/Y" ("0/0" before any)."""
        return format_lsn(self._read(lib.pgb_wal_receiver_received_lsn))

    @property
    def flushed_lsn(self):
        """How far received WAL is durable in the repository, as "X/Y"."""
        return format_lsn(self._read(lib.pgb_wal_receiver_flushed_lsn))

    @property
    def received_position(self):
        """received_lsn as a number, for comparisons."""
        return self._read(lib.pgb_wal_receiver_received_lsn)

    @property
    def flushed_position(self):
        """flushed_lsn as a number, for comparisons."""
        return self._read(lib.pgb_wal_receiver_flushed_lsn)

    @property
    def timeline(self):
        """The timeline being received (0 before the first connection)."""
        return self._read(lib.pgb_wal_receiver_timeline)

    def run(self):
        """Receive until stop(); a receiver runs once.

        Returns None after stop(), once what was received is stored. Raises
        Error: -7 (PGB_ECONNECTION) when the first connection fails (later
        disconnects are retried, not raised), -10 (PGB_EUNSUPPORTED) for a
        server outside PostgreSQL 13 to 17, -11 (PGB_EREFUSED) when the server
        turns out to be another cluster, -5 (PGB_EEXISTS) when the archive
        holds other content under a name the server sends, -3 for a second
        run.
        """
        repo = self._repo
        if repo is None:
            raise Error(PGB_EINVALID, "the WAL receiver is closed")

        def run_receiver(_repo_handle):
            with self._state_lock:
                handle = self._handle
                if handle is None:
                    raise Error(PGB_EINVALID, "the WAL receiver is closed")
                if self._stop_requested:
                    lib.pgb_wal_receiver_stop(handle)
                self._running = True
            try:
                return lib.pgb_wal_receiver_run(handle)  # ctypes releases the GIL: stop() can run meanwhile
            finally:
                with self._state_lock:
                    self._running = False

        repo._run(run_receiver)

    def start(self):
        """Run in a new daemon thread and return self; stop() ends it and raises what run() raised."""
        if self._thread is not None:
            raise Error(PGB_EINVALID, "the WAL receiver was started already")

        def target():
            try:
                self.run()
            except Error as error:
                self._thread_error = error

        self._thread = threading.Thread(target=target, name="pgbackup-wal-receive", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout=None):
        """Ask the receiver to stop; safe from any thread, and before run().

        For a receiver started with start(), also wait (up to timeout seconds)
        for its thread, and raise the Error its run ended with, if any.
        Returns True once the receiver has stopped (or was never started).
        """
        with self._state_lock:
            self._stop_requested = True
            if self._handle is not None:
                lib.pgb_wal_receiver_stop(self._handle)
        thread = self._thread
        if thread is None:
            return not self._running
        thread.join(timeout)
        if thread.is_alive():
            return False
        if self._thread_error is not None:
            error, self._thread_error = self._thread_error, None
            raise error
        return True

    def close(self):
        """Stop and free the receiver; waits for a run() in another thread to end. Safe to repeat."""
        repo = self._repo
        if repo is None:
            return
        with self._state_lock:
            self._stop_requested = True
            if self._handle is not None:
                lib.pgb_wal_receiver_stop(self._handle)
        with repo.storage.context._lock:  # not while run() is inside the library
            with self._state_lock:
                handle, self._handle = self._handle, None
            if handle is not None:
                repo._dependents.discard(self)
                type(self)._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        try:
            if self._thread is not None and exc_info[0] is None:
                self.stop()
        finally:
            self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        state = " closed" if self.closed else " running" if self._running else ""
        return f"<pgbackup.WalReceiver {self.slot} at {self.received_lsn}{state}>"
