"""Load libpgbackup and declare the prototype of every C function the binding calls."""

import ctypes
import ctypes.util
import os
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_int, c_size_t, c_uint32, c_uint64, c_void_p

# The ABI this binding follows, the one constant the SONAME comes from. During
# 0.x the SONAME carries the minor version (0.1 and 0.2 are different ABIs); from
# 1.0 on only the major, so this becomes (1,).
ABI_VERSION = (0, 1)
SONAME = "libpgbackup.so." + ".".join(str(part) for part in ABI_VERSION)


class _Ctx(ctypes.Structure):
    """Opaque pgb_ctx; a distinct type so ctypes rejects a handle of the wrong kind."""


class _Options(ctypes.Structure):
    """Opaque pgb_options."""


class _ServerInfo(ctypes.Structure):
    """Opaque pgb_server_info."""


class _Storage(ctypes.Structure):
    """Opaque pgb_storage."""


class _Repo(ctypes.Structure):
    """Opaque pgb_repo."""


class _BackupList(ctypes.Structure):
    """Opaque pgb_backup_list."""


class _Job(ctypes.Structure):
    """Opaque pgb_job."""


class _RestorePlan(ctypes.Structure):
    """Opaque pgb_restore_plan."""


class _VerifyReport(ctypes.Structure):
    """Opaque pgb_verify_report."""


class _VerifyFinding(ctypes.Structure):
    """Opaque pgb_verify_finding."""


class _WalReceiver(ctypes.Structure):
    """Opaque pgb_wal_receiver."""


class _LogicalRestore(ctypes.Structure):
    """Opaque pgb_logical_restore."""


class _BackupContents(ctypes.Structure):
    """Opaque pgb_backup_contents."""


CtxPtr = POINTER(_Ctx)
OptionsPtr = POINTER(_Options)
ServerInfoPtr = POINTER(_ServerInfo)
StoragePtr = POINTER(_Storage)
RepoPtr = POINTER(_Repo)
BackupListPtr = POINTER(_BackupList)
JobPtr = POINTER(_Job)
RestorePlanPtr = POINTER(_RestorePlan)
VerifyReportPtr = POINTER(_VerifyReport)
VerifyFindingPtr = POINTER(_VerifyFinding)
WalReceiverPtr = POINTER(_WalReceiver)
LogicalRestorePtr = POINTER(_LogicalRestore)
BackupContentsPtr = POINTER(_BackupContents)

# Status codes the binding itself needs (include/pgbackup/error.h).
PGB_ERROR = -1
PGB_EINVALID = -3
PGB_ENOTFOUND = -4
PGB_EEXISTS = -5
PGB_EIO = -8
PGB_ECANCELED = -9
PGB_EUNSUPPORTED = -10
PGB_ITEROVER = -14

# include/pgbackup/storage.h
PGB_STORAGE_NO_OVERWRITE = 1
PGB_STORAGE_OPS_VERSION = 1

# pgb_storage_list_fn: int (*)(const char *key, uint64_t size, void *payload)
ListFn = CFUNCTYPE(c_int, c_char_p, c_uint64, c_void_p)

# The members of pgb_storage_ops, in order. Every one takes the payload first.
OpenReadFn = CFUNCTYPE(c_int, c_void_p, c_char_p, c_uint64, c_uint64, POINTER(c_void_p))
ReadFn = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_size_t, POINTER(c_size_t))
CloseReadFn = CFUNCTYPE(None, c_void_p, c_void_p)
OpenWriteFn = CFUNCTYPE(c_int, c_void_p, c_char_p, c_int, POINTER(c_void_p))
WriteFn = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_size_t)
CommitFn = CFUNCTYPE(c_int, c_void_p, c_void_p)
AbortFn = CFUNCTYPE(None, c_void_p, c_void_p)
ListOpFn = CFUNCTYPE(c_int, c_void_p, c_char_p, ListFn, c_void_p)
StatFn = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(c_uint64))
RemoveFn = CFUNCTYPE(c_int, c_void_p, c_char_p)
FreeFn = CFUNCTYPE(None, c_void_p)


class StorageOps(ctypes.Structure):
    """pgb_storage_ops, version 1: the table only grows at the end."""

    _fields_ = [
        ("version", c_int),
        ("open_read", OpenReadFn),
        ("read", ReadFn),
        ("close_read", CloseReadFn),
        ("open_write", OpenWriteFn),
        ("write", WriteFn),
        ("commit", CommitFn),
        ("abort", AbortFn),
        ("list", ListOpFn),
        ("stat", StatFn),
        ("remove", RemoveFn),
        ("free", FreeFn),
    ]

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
    "pgb_free": (None, [c_void_p]),
    "pgb_ctx_set_error": (c_int, [CtxPtr, c_int, c_char_p]),
    "pgb_storage_open": (c_int, [POINTER(StoragePtr), CtxPtr, c_char_p, OptionsPtr]),
    "pgb_storage_from_callbacks": (
        c_int, [POINTER(StoragePtr), CtxPtr, POINTER(StorageOps), c_void_p, c_char_p]
    ),
    "pgb_storage_free": (None, [StoragePtr]),
    "pgb_storage_name": (c_char_p, [StoragePtr]),
    "pgb_storage_put": (c_int, [StoragePtr, c_char_p, c_char_p, c_size_t, c_int]),
    "pgb_storage_get": (c_int, [StoragePtr, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "pgb_storage_stat": (c_int, [StoragePtr, c_char_p, POINTER(c_uint64)]),
    "pgb_storage_remove": (c_int, [StoragePtr, c_char_p]),
    "pgb_storage_list": (c_int, [StoragePtr, c_char_p, ListFn, c_void_p]),
    "pgb_repo_init": (c_int, [POINTER(RepoPtr), StoragePtr, OptionsPtr]),
    "pgb_repo_open": (c_int, [POINTER(RepoPtr), StoragePtr, OptionsPtr]),
    "pgb_repo_close": (None, [RepoPtr]),
    "pgb_repo_encryption": (c_char_p, [RepoPtr]),
    "pgb_repo_id": (c_char_p, [RepoPtr]),
    "pgb_repo_can_read": (c_int, [RepoPtr]),
    "pgb_repo_lock": (c_int, [RepoPtr]),
    "pgb_repo_unlock": (c_int, [RepoPtr]),
    "pgb_repo_list": (c_int, [POINTER(BackupListPtr), RepoPtr]),
    "pgb_backup_list_count": (c_size_t, [BackupListPtr]),
    "pgb_backup_list_id": (c_char_p, [BackupListPtr, c_size_t]),
    "pgb_backup_list_to_json": (c_char_p, [BackupListPtr]),
    "pgb_backup_list_free": (None, [BackupListPtr]),
    "pgb_keygen": (c_int, [CtxPtr, c_char_p]),
    "pgb_ctx_reset_cancel": (c_int, [CtxPtr]),
    "pgb_job_new": (c_int, [POINTER(JobPtr), RepoPtr, OptionsPtr]),
    "pgb_job_run": (c_int, [JobPtr]),
    "pgb_job_cancel": (c_int, [JobPtr]),
    "pgb_job_backup_id": (c_char_p, [JobPtr]),
    "pgb_job_to_json": (c_char_p, [JobPtr]),
    "pgb_job_free": (None, [JobPtr]),
    "pgb_restore_plan_new": (c_int, [POINTER(RestorePlanPtr), RepoPtr, OptionsPtr]),
    "pgb_restore_plan_backup_id": (c_char_p, [RestorePlanPtr]),
    "pgb_restore_plan_to_json": (c_char_p, [RestorePlanPtr]),
    "pgb_restore_plan_execute": (c_int, [RestorePlanPtr]),
    "pgb_restore_plan_free": (None, [RestorePlanPtr]),
    "pgb_verify_dir": (c_int, [POINTER(VerifyReportPtr), CtxPtr, c_char_p, OptionsPtr]),
    "pgb_verify_backup": (c_int, [POINTER(VerifyReportPtr), RepoPtr, c_char_p]),
    "pgb_verify_backup_with_options": (c_int, [POINTER(VerifyReportPtr), RepoPtr, c_char_p, OptionsPtr]),
    "pgb_verify_report_ok": (c_int, [VerifyReportPtr]),
    "pgb_verify_report_problem_count": (c_size_t, [VerifyReportPtr]),
    "pgb_verify_report_next": (c_int, [VerifyReportPtr, POINTER(VerifyFindingPtr)]),
    "pgb_verify_finding_kind": (c_char_p, [VerifyFindingPtr]),
    "pgb_verify_finding_path": (c_char_p, [VerifyFindingPtr]),
    "pgb_verify_finding_message": (c_char_p, [VerifyFindingPtr]),
    "pgb_verify_report_to_json": (c_char_p, [VerifyReportPtr]),
    "pgb_verify_report_free": (None, [VerifyReportPtr]),
    "pgb_wal_push": (c_int, [RepoPtr, c_char_p]),
    "pgb_wal_push_with_options": (c_int, [RepoPtr, c_char_p, OptionsPtr]),
    "pgb_wal_fetch": (c_int, [RepoPtr, c_char_p, c_char_p]),
    "pgb_wal_receiver_new": (c_int, [POINTER(WalReceiverPtr), RepoPtr, OptionsPtr]),
    "pgb_wal_receiver_run": (c_int, [WalReceiverPtr]),
    "pgb_wal_receiver_stop": (c_int, [WalReceiverPtr]),
    "pgb_wal_receiver_received_lsn": (c_uint64, [WalReceiverPtr]),
    "pgb_wal_receiver_flushed_lsn": (c_uint64, [WalReceiverPtr]),
    "pgb_wal_receiver_timeline": (c_uint32, [WalReceiverPtr]),
    "pgb_wal_receiver_slot": (c_char_p, [WalReceiverPtr]),
    "pgb_wal_receiver_free": (None, [WalReceiverPtr]),
    "pgb_wal_fetch_with_options": (c_int, [RepoPtr, c_char_p, c_char_p, OptionsPtr]),
    "pgb_logical_restore_new": (c_int, [POINTER(LogicalRestorePtr), RepoPtr, OptionsPtr]),
    "pgb_logical_restore_backup_id": (c_char_p, [LogicalRestorePtr]),
    "pgb_logical_restore_to_json": (c_char_p, [LogicalRestorePtr]),
    "pgb_logical_restore_execute": (c_int, [LogicalRestorePtr]),
    "pgb_logical_restore_free": (None, [LogicalRestorePtr]),
    "pgb_backup_contents_read": (c_int, [POINTER(BackupContentsPtr), RepoPtr, c_char_p, OptionsPtr]),
    "pgb_backup_contents_count": (c_size_t, [BackupContentsPtr]),
    "pgb_backup_contents_to_json": (c_char_p, [BackupContentsPtr]),
    "pgb_backup_contents_free": (None, [BackupContentsPtr]),
}


def _open_library():
    explicit = os.environ.get("PGBACKUP_LIBRARY")
    if explicit:
        try:
            return ctypes.CDLL(explicit)
        except OSError as error:
            raise ImportError(f"cannot load PGBACKUP_LIBRARY={explicit}: {error}") from error
    failures = []
    # What the linker would pick for -lpgbackup (libpgbackup.so) first, then the
    # exact SONAME. find_library may name another, incompatible, version: such a
    # library is passed over for the next candidate.
    for name in (ctypes.util.find_library("pgbackup"), SONAME):
        if not name:
            continue
        try:
            library = ctypes.CDLL(name)
        except OSError as error:
            failures.append(str(error))
            continue
        found = _abi_of(library)
        if found == ABI_VERSION:
            return library
        failures.append(f"{name} is version {'.'.join(map(str, found))}, this binding needs {SONAME}")
    raise ImportError(
        "cannot find libpgbackup; set PGBACKUP_LIBRARY to the full path of libpgbackup.so"
        + (f" ({'; '.join(failures)})" if failures else "")
    )


def _abi_of(library):
    """The ABI of a loaded library, as ABI_VERSION spells it, from pgb_version()."""
    version = library.pgb_version
    version.restype, version.argtypes = c_int, []
    major, minor = divmod(version() // 100, 100)  # MAJOR * 10000 + MINOR * 100 + PATCH
    return (major, minor) if major == 0 else (major,)


def _declare(library):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


lib = _declare(_open_library())


def loaded_path():
    """The file the library was loaded from, as the process maps it (Linux)."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.rstrip("\n").split(maxsplit=5)[-1]
            if os.path.basename(path).startswith("libpgbackup.so"):
                return path
    raise RuntimeError("libpgbackup is not mapped into this process")
