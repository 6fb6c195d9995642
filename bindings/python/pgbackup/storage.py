"""Storage: a flat space of objects named by keys, where repositories live."""

import ctypes
import typing
import weakref

from ._lib import PGB_EINVALID, PGB_STORAGE_NO_OVERWRITE, ListFn, StoragePtr, lib
from ._storage_callbacks import CallbackTable
from ._text import from_c, message_from_c, to_c
from .context import Context
from .errors import Error
from .options import options_for_call


class StorageObject(typing.NamedTuple):
    """One object of a listing; a tuple, so it compares equal to (key, size)."""

    key: str
    size: int


class Storage:
    """A pgb_storage: Storage(url) for a path, file:///path, s3://bucket/prefix or
    sftp://user@host[:port]/path, or Storage.from_callbacks(store).

    Made from a Context (whose errors it reports and whose lock serialises its
    calls), or from a private one when none is given. Repositories opened on it
    keep it alive; closing it closes them first, and closing its Context closes
    it. Close it, use it in a with block, or let it be collected.

    Keys are relative paths of "/"-separated names, none empty, "." or "..",
    and none starting with "."; a bad key raises Error with code -3.
    """

    _handle = None
    _context = None  # so close() works on an object whose __init__ failed
    _owns_context = False
    _dependents = ()
    _callbacks = None
    _name = None
    _free = lib.pgb_storage_free

    def __init__(self, url, options=None, context=None):
        """Open the storage at url. The folder of a local path is made by the first write.

        options: an Options or a mapping of backend options ({"s3-endpoint":
        "http://127.0.0.1:9000", "s3-uri-style": "path"}, {"sftp-key": path,
        "sftp-known-hosts": path}), or None. S3 credentials come from
        AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a credentials file. Raises
        Error with code -10 (PGB_EUNSUPPORTED) for a URL scheme this build
        does not know, -13 (PGB_EAUTH) for missing S3 credentials or an
        unknown SFTP host key.
        """
        self._begin(context)
        target = to_c(url, "storage URL")
        handle = StoragePtr()
        with options_for_call(options, self._context) as opts:
            self._context.run(lambda ctx: lib.pgb_storage_open(ctypes.byref(handle), ctx, target, opts))
        self._adopt_handle(handle)

    @classmethod
    def from_callbacks(cls, store, name="callbacks", context=None):
        """A storage whose objects live wherever store puts them.

        store is any object with these methods (keys are str, data is bytes):

          get(key) -> bytes       raise KeyError or FileNotFoundError when absent
          put(key, data, overwrite)
                                  store the whole object at once; when overwrite
                                  is false and key exists, raise FileExistsError
                                  and change nothing (locks rely on this)
          list(prefix) -> iterable of (key, size)
          remove(key)             an absent key is not an error
          stat(key) -> int        optional (else len(get(key))); KeyError when absent

        Objects cross as whole bytes values, so each one must fit in memory.
        An exception in a method fails the library call with an Error whose
        __cause__ is that exception: pgbackup.Error keeps its code, KeyError and
        FileNotFoundError become -4, FileExistsError -5, other OSError -8 (EIO),
        anything else -1. name is how messages name this storage.
        """
        self = cls.__new__(cls)
        self._begin(context)
        table = CallbackTable(store, name)
        label = to_c(name, "storage name")
        handle = StoragePtr()

        def make(ctx):
            table.ctx = ctx  # the callbacks record their errors here
            return lib.pgb_storage_from_callbacks(ctypes.byref(handle), ctx, ctypes.byref(table.ops), None, label)

        self._context.run(make)
        # The C storage keeps pointers to the ctypes callbacks: they live as long as it.
        self._callbacks = table
        self._adopt_handle(handle)
        return self

    def _begin(self, context):
        self._owns_context = context is None
        self._context = Context() if context is None else context
        # Repositories opened on this storage; C requires them closed before it.
        self._dependents = weakref.WeakSet()

    def _adopt_handle(self, handle):
        self._handle = handle
        self._context._adopt(self)
        # Fixed for the storage's life, and read while no other thread can have it.
        self._name = message_from_c(lib.pgb_storage_name(handle))

    @property
    def context(self):
        return self._context

    @property
    def closed(self):
        return self._handle is None

    @property
    def name(self):
        """How messages name this storage: its URL, or the name given to from_callbacks."""
        return self._name

    def _handle_for_call(self):
        """The C handle, for calls made through a repository; hold the context lock."""
        if self._handle is None:
            raise Error(PGB_EINVALID, "the storage is closed")
        return self._handle

    def _run(self, call, not_failures=()):
        """call(storage_handle) under the context lock; a failure raises Error."""

        def with_handle(_ctx):
            storage = self._handle_for_call()
            if self._callbacks is not None:
                self._callbacks.failure = None
            return call(storage)

        try:
            return self._context.run(with_handle, not_failures)
        except Error as error:
            self._raise_with_callback_failure(error)
            raise

    def _raise_with_callback_failure(self, error):
        """Re-raise error with the store's exception that caused it, if one did."""
        failure = self._callbacks.failure if self._callbacks is not None else None
        if failure is None:
            return
        self._callbacks.failure = None
        if not isinstance(failure, Exception):
            raise failure  # KeyboardInterrupt, SystemExit: not ours to wrap
        raise error from failure

    def put(self, key, data, overwrite=True):
        """Store data (bytes-like) under key, visible all at once.

        With overwrite=False an existing key raises Error with code -5
        (PGB_EEXISTS), atomically, and the object is left as it was.
        """
        name, payload = to_c(key, "object key"), bytes(data)
        flags = 0 if overwrite else PGB_STORAGE_NO_OVERWRITE
        self._run(lambda storage: lib.pgb_storage_put(storage, name, payload, len(payload), flags))

    def get(self, key):
        """The whole object as bytes; Error with code -4 (PGB_ENOTFOUND) naming the key when absent."""
        name = to_c(key, "object key")
        data, size = ctypes.c_void_p(), ctypes.c_size_t()
        self._run(lambda storage: lib.pgb_storage_get(storage, name, ctypes.byref(data), ctypes.byref(size)))
        try:
            return ctypes.string_at(data, size.value) if size.value else b""
        finally:
            lib.pgb_free(data)

    def stat(self, key):
        """The object's size in bytes; Error with code -4 (PGB_ENOTFOUND) naming the key when absent."""
        name, size = to_c(key, "object key"), ctypes.c_uint64()
        self._run(lambda storage: lib.pgb_storage_stat(storage, name, ctypes.byref(size)))
        return size.value

    def remove(self, key):
        """Remove an object; an absent one is not an error."""
        name = to_c(key, "object key")
        self._run(lambda storage: lib.pgb_storage_remove(storage, name))

    def list(self, prefix=""):
        """Every object whose key begins with prefix, as StorageObject(key, size), sorted by key."""
        start = to_c(prefix, "key prefix")
        found, failure = [], []

        def each(key, size, _payload):
            try:
                found.append(StorageObject(from_c(key), size))
                return 0
            except BaseException as error:  # must not escape into C; re-raised below
                failure.append(error)
                return 1

        callback = ListFn(each)  # a local: alive until pgb_storage_list returns
        try:
            self._run(lambda storage: lib.pgb_storage_list(storage, start, callback, None))
        except Error:
            if failure:
                raise failure[0] from None
            raise
        return sorted(found)

    def close(self):
        """Close the repositories opened on it, then free it (and its private context). Safe to repeat."""
        context = self._context
        if context is None:
            return
        with context._lock:  # not while another thread is inside a call on it
            for repo in list(self._dependents):
                repo.close()
            handle, self._handle = self._handle, None
            if handle is not None:
                type(self)._free(handle)
        if self._owns_context:
            context.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"<pgbackup.Storage {self._name!r}{' closed' if self.closed else ''}>"
