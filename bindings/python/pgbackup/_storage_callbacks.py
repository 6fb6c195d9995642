"""The pgb_storage_ops table behind Storage.from_callbacks: C calls into a Python store object.

Every callback runs on the thread that made the library call, with the
storage's Context lock held by that thread. None may let an exception escape
into C (ctypes would print it and return 0, which C reads as success): each
failure becomes a PGB_E* code, a message recorded with pgb_ctx_set_error(),
and the exception kept in `failure` for Storage to chain to the Error it
raises.
"""

import ctypes

from ._lib import (
    PGB_ECANCELED,
    PGB_EEXISTS,
    PGB_EIO,
    PGB_ENOTFOUND,
    PGB_ERROR,
    PGB_EUNSUPPORTED,
    PGB_STORAGE_NO_OVERWRITE,
    PGB_STORAGE_OPS_VERSION,
    AbortFn,
    CloseReadFn,
    CommitFn,
    ListOpFn,
    OpenReadFn,
    OpenWriteFn,
    ReadFn,
    RemoveFn,
    StatFn,
    StorageOps,
    WriteFn,
    lib,
)
from ._text import from_c, to_c
from .errors import Error

_NOT_FOUND = (KeyError, FileNotFoundError)


def _code_of(failure):
    if isinstance(failure, Error):
        return failure.code
    if isinstance(failure, _NOT_FOUND):
        return PGB_ENOTFOUND
    if isinstance(failure, FileExistsError):
        return PGB_EEXISTS
    if isinstance(failure, NotImplementedError):
        return PGB_EUNSUPPORTED
    if isinstance(failure, OSError):
        return PGB_EIO
    return PGB_ERROR


class _Read:
    __slots__ = ("data", "position")

    def __init__(self, data):
        self.data = data
        self.position = 0


class _Write:
    __slots__ = ("key", "overwrite", "chunks")

    def __init__(self, key, overwrite):
        self.key = key
        self.overwrite = overwrite
        self.chunks = []


class CallbackTable:
    """A filled pgb_storage_ops for store, and the ctypes callbacks it points to.

    Streams are numbered (never 0) and kept here, since C only holds an opaque
    pointer for them. The table holds no reference to the Storage, so a
    Storage is freed by reference counting, never left to the cycle collector.
    """

    def __init__(self, store, name):
        for method in ("get", "put", "list", "remove"):
            if not callable(getattr(store, method, None)):
                raise TypeError(f"the store {type(store).__name__} has no {method}() method")
        self.store = store
        self.name = name
        self.ctx = None  # the CtxPtr of the storage, for pgb_ctx_set_error
        self.failure = None  # the exception of the last failed callback
        self._streams = {}
        self._next_stream = 1
        self._callbacks = [
            OpenReadFn(self._open_read),
            ReadFn(self._read),
            CloseReadFn(self._close_read),
            OpenWriteFn(self._open_write),
            WriteFn(self._write),
            CommitFn(self._commit),
            AbortFn(self._abort),
            ListOpFn(self._list),
            StatFn(self._stat),
            RemoveFn(self._remove),
        ]
        # free stays NULL: nothing of ours is behind the payload.
        self.ops = StorageOps(PGB_STORAGE_OPS_VERSION, *self._callbacks)

    def _failed(self, operation, key, failure):
        """Record failure and return its status code."""
        self.failure = failure
        code = _code_of(failure)
        if code >= 0:
            code = PGB_ERROR
        # Not found and exists get the library's own message, the same for every backend.
        if code not in (PGB_ENOTFOUND, PGB_EEXISTS) and self.ctx is not None:
            what = f"{operation} of {key}" if key else operation
            message = f"storage {self.name}: {what} failed: {type(failure).__name__}: {failure}"
            lib.pgb_ctx_set_error(self.ctx, code, message.encode("utf-8", "replace"))
        return code

    def _add_stream(self, stream):
        number = self._next_stream
        self._next_stream += 1
        self._streams[number] = stream
        return number

    def _open_read(self, _payload, key, offset, length, stream_out):
        name = from_c(key)
        try:
            data = bytes(self.store.get(name))
            end = len(data) if length == 0 else offset + length
            stream_out[0] = self._add_stream(_Read(data[offset:end]))
            return 0
        except BaseException as failure:
            return self._failed("open for reading", name, failure)

    def _read(self, _payload, stream, buffer, size, got):
        try:
            entry = self._streams[stream]
            chunk = entry.data[entry.position:entry.position + size]
            ctypes.memmove(buffer, chunk, len(chunk))
            entry.position += len(chunk)
            got[0] = len(chunk)
            return 0
        except BaseException as failure:
            return self._failed("read", None, failure)

    def _close_read(self, _payload, stream):
        self._streams.pop(stream, None)

    def _open_write(self, _payload, key, flags, stream_out):
        try:
            entry = _Write(from_c(key), not flags & PGB_STORAGE_NO_OVERWRITE)
            stream_out[0] = self._add_stream(entry)
            return 0
        except BaseException as failure:
            return self._failed("open for writing", from_c(key), failure)

    def _write(self, _payload, stream, data, size):
        try:
            self._streams[stream].chunks.append(ctypes.string_at(data, size))
            return 0
        except BaseException as failure:
            return self._failed("write", None, failure)

    def _commit(self, _payload, stream):
        entry = self._streams.pop(stream, None)  # commit ends the stream, also on failure
        key = entry.key if entry is not None else None
        try:
            self.store.put(key, b"".join(entry.chunks), entry.overwrite)
            return 0
        except BaseException as failure:
            return self._failed("commit", key, failure)

    def _abort(self, _payload, stream):
        self._streams.pop(stream, None)

    def _list(self, _payload, prefix, each, each_payload):
        start = from_c(prefix)
        try:
            for key, size in self.store.list(start):
                if not key.startswith(start):
                    continue  # a store that lists too much must not widen the listing
                if each(to_c(key, "object key"), size, each_payload) != 0:
                    return PGB_ECANCELED
            return 0
        except BaseException as failure:
            return self._failed("list", start, failure)

    def _stat(self, _payload, key, size_out):
        name = from_c(key)
        try:
            stat = getattr(self.store, "stat", None)
            size_out[0] = stat(name) if stat is not None else len(self.store.get(name))
            return 0
        except BaseException as failure:
            return self._failed("stat", name, failure)

    def _remove(self, _payload, key):
        name = from_c(key)
        try:
            self.store.remove(name)
            return 0
        except _NOT_FOUND:
            return 0  # absent is not an error, whatever a dict's del says
        except BaseException as failure:
            return self._failed("remove", name, failure)
