"""Options: key/value strings checked against the library's one registry."""

import collections.abc
import contextlib
import ctypes
import enum

from ._lib import PGB_EINVALID, PGB_ITEROVER, OptionsPtr, lib
from ._text import from_c, to_c
from .context import Context, holding
from .errors import Error


class Source(enum.IntEnum):
    """Where an option's value came from, lowest precedence first."""

    DEFAULT = 0
    FILE = 1
    ENVIRONMENT = 2
    EXPLICIT = 3


def option_names():
    """Names of every option in the registry, in the library's order."""
    return [from_c(lib.pgb_option_name(i)) for i in range(lib.pgb_option_count())]


def _option_text(value):
    # Python's True would become "True"; the registry's words are lower case.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


class Options:
    """A pgb_options set. Precedence, highest first: set(), environment, file, default.

    Made from a Context (whose errors it reports), or from a private one when
    none is given. Close it, use it in a with block, or let it be collected.
    """

    _handle = None
    _context = None  # so close() works on an object whose __init__ failed
    _owns_context = False
    _free = lib.pgb_options_free

    def __init__(self, context=None):
        self._owns_context = context is None
        self._context = Context() if context is None else context
        handle = OptionsPtr()
        self._context.run(lambda ctx: lib.pgb_options_new(ctypes.byref(handle), ctx))
        self._handle = handle
        self._context._adopt(self)

    @property
    def context(self):
        return self._context

    def _run(self, call, not_failures=()):
        def with_handle(_ctx):
            if self._handle is None:
                raise Error(PGB_EINVALID, "the option set is closed")
            return call(self._handle)

        return self._context.run(with_handle, not_failures)

    def set(self, key, value):
        """Set an option with the highest precedence; a bad key or value raises Error."""
        name, text = to_c(key, "option name"), to_c(_option_text(value))
        self._run(lambda opts: lib.pgb_options_set(opts, name, text))

    def unset(self, key):
        """Forget an option's value, whatever its source: it has its default again."""
        name = to_c(key, "option name")
        self._run(lambda opts: lib.pgb_options_unset(opts, name))

    def get(self, key):
        """The option's value (a list option's first), or None when unset without default."""
        name, value = to_c(key, "option name"), ctypes.c_char_p()
        self._run(lambda opts: lib.pgb_options_get(opts, name, ctypes.byref(value)))
        return from_c(value.value)  # copied now: the C string lives only until the option changes

    def get_all(self, key):
        """Every value of a list option, in order (a plain option gives one value or none)."""
        name, values = to_c(key, "option name"), []
        while True:
            value = ctypes.c_char_p()
            index = len(values)
            status = self._run(
                lambda opts: lib.pgb_options_get_at(opts, name, index, ctypes.byref(value)),
                not_failures=(PGB_ITEROVER,),
            )
            if status == PGB_ITEROVER or value.value is None:
                return values
            values.append(from_c(value.value))

    def source(self, key):
        """Where the option's current value came from, as a Source."""
        name = to_c(key, "option name")
        return Source(self._run(lambda opts: lib.pgb_options_source(opts, name)))

    def load_env(self, environment=None):
        """Take options from PGBACKUP_* variables of a mapping, or of the process when None."""
        if environment is None:
            self._run(lambda opts: lib.pgb_options_load_env(opts, None))
            return
        entries = [to_c(f"{name}={value}", "environment entry") for name, value in environment.items()]
        envp = (ctypes.c_char_p * (len(entries) + 1))(*entries, None)  # NULL-terminated
        self._run(lambda opts: lib.pgb_options_load_env(opts, envp))

    def load_file(self, path):
        """Take options from an INI-style configuration file."""
        file_name = to_c(path, "file name")
        self._run(lambda opts: lib.pgb_options_load_file(opts, file_name))

    def _handle_for_call(self):
        """The C handle for a call made through another handle; hold this set's context lock."""
        if self._handle is None:
            raise Error(PGB_EINVALID, "the option set is closed")
        return self._handle

    def close(self):
        """Free the option set (and its private context, if it made one). Safe to repeat."""
        context = self._context
        if context is None:
            return
        with context._lock:  # not while another thread is inside a call on it
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


def _set_all(options, values):
    """Set every entry of a mapping; a list or tuple value sets a list option once per item."""
    for key, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            options.set(key, item)


@contextlib.contextmanager
def options_for_call(options, context):
    """Give the pgb_options handle (or None) for a call made through context.

    options is None, an Options (of any context), or a mapping of option names
    to values, turned into a short-lived Options of context. The caller runs its
    call inside the with block, where the locks of both contexts are held.
    """
    if options is None:
        yield None
        return
    if isinstance(options, Options):
        with holding(context, options.context):
            yield options._handle_for_call()
        return
    if not isinstance(options, collections.abc.Mapping):
        raise TypeError(f"options must be an Options or a mapping, not {type(options).__name__}")
    with Options(context) as made:
        _set_all(made, options)
        with holding(context):
            yield made._handle_for_call()
