"""The root handle: a pgb_ctx, which holds the error state of every call made through it."""

import contextlib
import ctypes
import threading
import weakref

from ._lib import PGB_EINVALID, CtxPtr, lib
from ._text import message_from_c
from .errors import Error, status_name


class Context:
    """Owns one pgb_ctx; close() it, use it in a with block, or let it be collected.

    A C context serves one thread at a time, and its error message is valid only
    until its next call. ctypes releases the GIL during C calls, so every call and
    the reading of its error happen under one lock: a Context may be shared by
    threads, but their calls run one after the other.
    """

    _handle = None  # so close() works on an object whose __init__ failed
    _free = lib.pgb_ctx_free  # kept on the class: module globals may be gone at shutdown

    def __init__(self):
        handle = CtxPtr()
        status = lib.pgb_ctx_new(ctypes.byref(handle))
        if status != 0:
            # There is no context to hold a message yet.
            raise Error(status, f"cannot make a libpgbackup context: {status_name(status)}")
        self._handle = handle
        self._lock = threading.RLock()
        # Handles made from this context; C requires them freed before the context.
        self._dependents = weakref.WeakSet()

    @property
    def closed(self):
        return self._handle is None

    def run(self, call, not_failures=()):
        """Call call(ctx_handle) under the lock and return its status.

        A negative status raises Error with the message and detail the context
        recorded, unless it is listed in not_failures (such as PGB_ITEROVER).
        """
        with self._lock:
            if self._handle is None:
                raise Error(PGB_EINVALID, "the libpgbackup context is closed")
            status = call(self._handle)
            if status < 0 and status not in not_failures:
                raise self._last_error(status)
            return status

    def _last_error(self, status):
        message = message_from_c(lib.pgb_ctx_errmsg(self._handle))
        detail = message_from_c(lib.pgb_ctx_errdetail(self._handle))
        # A check that fails before the context is trusted leaves no message.
        return Error(status, message or f"libpgbackup failed with {status_name(status)}", detail)

    def _adopt(self, dependent):
        """Record a handle that must be closed before this context."""
        self._dependents.add(dependent)

    def close(self):
        """Free the context, closing first every handle made from it. Safe to repeat."""
        if self._handle is None:
            return
        with self._lock:
            # Marked closed first: a dependent's close() may come back here.
            handle, self._handle = self._handle, None
            for dependent in list(self._dependents):
                dependent.close()
            type(self)._free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()


@contextlib.contextmanager
def holding(*contexts):
    """Hold the lock of each context given (None is skipped), always in the same order.

    A call that reads an option set of another context needs both locks; taking
    them in one global order means two threads doing this crosswise never wait
    on each other forever.
    """
    unique = {id(context): context for context in contexts if context is not None}
    with contextlib.ExitStack() as stack:
        for key in sorted(unique):
            stack.enter_context(unique[key]._lock)
        yield
