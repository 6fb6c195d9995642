"""Load libpgbackup and declare the prototype of every C function the binding calls."""

import ctypes
import ctypes.util
import os
from ctypes import POINTER, c_char_p, c_int, c_size_t

# During 0.x the SONAME carries the minor version: this is the ABI the binding follows.
SONAME = "libpgbackup.so.0.1"


class _Ctx(ctypes.Structure):
    """Opaque pgb_ctx; a distinct type so ctypes rejects a handle of the wrong kind."""


class _Options(ctypes.Structure):
    """Opaque pgb_options."""


class _ServerInfo(ctypes.Structure):
    """Opaque pgb_server_info."""


CtxPtr = POINTER(_Ctx)
OptionsPtr = POINTER(_Options)
ServerInfoPtr = POINTER(_ServerInfo)

# Status codes the binding itself needs (include/pgbackup/error.h).
PGB_EINVALID = -3
PGB_ITEROVER = -14

_PROTOTYPES = {
    "pgb_version": (c_int, []),
    "pgb_version_string": (c_char_p, []),
    "pgb_ctx_new": (c_int, [POINTER(CtxPtr)]),
    "pgb_ctx_free": (None, [CtxPtr]),
    "pgb_ctx_errmsg": (c_char_p, [CtxPtr]),
    "pgb_ctx_errdetail": (c_char_p, [CtxPtr]),
    "pgb_status_name": (c_char_p, [c_int]),
    "pgb_option_count": (c_size_t, []),
    "pgb_option_name": (c_char_p, [c_size_t]),
    "pgb_options_new": (c_int, [POINTER(OptionsPtr), CtxPtr]),
    "pgb_options_free": (None, [OptionsPtr]),
    "pgb_options_set": (c_int, [OptionsPtr, c_char_p, c_char_p]),
    "pgb_options_unset": (c_int, [OptionsPtr, c_char_p]),
    "pgb_options_get": (c_int, [OptionsPtr, c_char_p, POINTER(c_char_p)]),
    "pgb_options_get_at": (c_int, [OptionsPtr, c_char_p, c_size_t, POINTER(c_char_p)]),
    "pgb_options_source": (c_int, [OptionsPtr, c_char_p]),
    "pgb_options_load_env": (c_int, [OptionsPtr, POINTER(c_char_p)]),
    "pgb_options_load_file": (c_int, [OptionsPtr, c_char_p]),
    "pgb_pg_probe": (c_int, [POINTER(ServerInfoPtr), CtxPtr, c_char_p]),
    "pgb_server_info_free": (None, [ServerInfoPtr]),
    "pgb_server_info_to_json": (c_char_p, [ServerInfoPtr]),
}


def _open_library():
    explicit = os.environ.get("PGBACKUP_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as error:
            raise ImportError(f"cannot load PGBACKUP_LIBRARY={explicit}: {error}") from error
    failures = []
    # The exact SONAME first: find_library may name another, incompatible, version.
    for find in (lambda: SONAME, lambda: ctypes.util.find_library("pgbackup")):
        name = find()
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as error:
            failures.append(str(error))
    raise ImportError(
        "cannot find libpgbackup; set PGBACKUP_LIBRARY to the full path of libpgbackup.so"
        + (f" ({'; '.join(failures)})" if failures else "")
    )


def _declare(library):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


lib = _declare(_open_library())
