"""The strategy around backups: policy, restore drills, status and the advisor, the runbook, retention.

Each function takes an open Repo; options are an Options or a mapping of
option names to values, as elsewhere in the binding. Reports come back as the
library's JSON documents, decoded (see include/pgbackup/{policy,drill,status,
runbook,expire}.h for their schemas).
"""

import ctypes
import json
from ctypes import POINTER, c_char_p, c_double, c_int, c_int64, c_void_p

from ._lib import RepoPtr, OptionsPtr, lib
from ._text import message_from_c, to_c


class _Policy(ctypes.Structure):
    """Opaque pgb_policy."""


class _Drill(ctypes.Structure):
    """Opaque pgb_drill."""


class _ClusterStatus(ctypes.Structure):
    """Opaque pgb_cluster_status."""


PolicyPtr = POINTER(_Policy)
DrillPtr = POINTER(_Drill)
ClusterStatusPtr = POINTER(_ClusterStatus)

# The strategy functions' prototypes, declared with the types above.
for _name, (_restype, _argtypes) in {
    "pgb_policy_load": (c_int, [POINTER(PolicyPtr), RepoPtr]),
    "pgb_policy_update": (c_int, [PolicyPtr, OptionsPtr]),
    "pgb_policy_save": (c_int, [PolicyPtr]),
    "pgb_policy_to_json": (c_char_p, [PolicyPtr]),
    "pgb_policy_get": (c_int64, [PolicyPtr, c_char_p]),
    "pgb_policy_free": (None, [PolicyPtr]),
    "pgb_drill_new": (c_int, [POINTER(DrillPtr), RepoPtr, OptionsPtr]),
    "pgb_drill_run": (c_int, [DrillPtr]),
    "pgb_drill_passed": (c_int, [DrillPtr]),
    "pgb_drill_rto_seconds": (c_double, [DrillPtr]),
    "pgb_drill_to_json": (c_char_p, [DrillPtr]),
    "pgb_drill_free": (None, [DrillPtr]),
    "pgb_cluster_status_new": (c_int, [POINTER(ClusterStatusPtr), RepoPtr, OptionsPtr]),
    "pgb_cluster_status_level": (c_int, [ClusterStatusPtr]),
    "pgb_cluster_status_error_count": (c_int, [ClusterStatusPtr]),
    "pgb_cluster_status_render": (c_char_p, [ClusterStatusPtr, c_char_p]),
    "pgb_cluster_status_free": (None, [ClusterStatusPtr]),
    "pgb_runbook_generate": (c_int, [RepoPtr, OptionsPtr, POINTER(c_void_p)]),
    "pgb_expire": (c_int, [RepoPtr, OptionsPtr, POINTER(c_void_p)]),
}.items():
    _function = getattr(lib, _name)
    _function.restype, _function.argtypes = _restype, _argtypes

# Levels of status(): pgb_health_level, as Nagios plugins exit.
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
FORMATS = ("json", "text", "prometheus", "nagios")


def _take_text(pointer):
    """A string the library handed over (free with pgb_free), decoded and freed."""
    try:
        return message_from_c(ctypes.string_at(pointer.value)) if pointer.value else ""
    finally:
        lib.pgb_free(pointer)


def policy(repo, options=None):
    """The cluster's recovery goals and policy as a dict; options that set settings change and store it.

    Settings: "rpo", "rto", "keep-age", "pitr-window", "drill-every",
    "physical-every", "logical-every", "globals-every" (durations such as
    "15min", "7d"), "keep-full" (a count), "require" (restore paths, a list);
    "none" clears one. Raises Error -3 (PGB_EINVALID) naming a bad value.
    """
    handle = PolicyPtr()

    def load_update_save(repo_handle, opts):
        status = lib.pgb_policy_load(ctypes.byref(handle), repo_handle)
        if status == 0 and options:
            status = lib.pgb_policy_update(handle, opts)
            if status == 0:
                status = lib.pgb_policy_save(handle)
        return status

    try:
        repo._run_with_options(options, load_update_save)
        return json.loads(message_from_c(lib.pgb_policy_to_json(handle)))
    finally:
        lib.pgb_policy_free(handle)


def drill(repo, options=None):
    """Run a restore drill and return its report (a dict; report["passed"] says how it went).

    options: "probe" (a list of 'SQL' or 'SQL => EXPECTED'), "backup", the
    point-in-time targets, "drill-user" (when running as root), "scratch-dir",
    "program" (the pgbackup CLI, for restore_command when WAL is replayed),
    and the repository options restore_command needs. A drill that fails is
    still a report; Error is raised only for bad options or when the report
    cannot be stored.
    """
    handle = DrillPtr()

    def make_and_run(repo_handle, opts):
        status = lib.pgb_drill_new(ctypes.byref(handle), repo_handle, opts)
        return lib.pgb_drill_run(handle) if status == 0 else status

    try:
        repo._run_with_options(options, make_and_run)
        return json.loads(message_from_c(lib.pgb_drill_to_json(handle)))
    finally:
        lib.pgb_drill_free(handle)


def status(repo, options=None, format="json"):
    """The cluster's status: (level, document) with level OK, WARNING, CRITICAL or UNKNOWN.

    format "json" gives the document as a dict (backups by kind, archive,
    recovery point age, server, drills, goals, findings); "text",
    "prometheus" and "nagios" give it rendered as a str. options: "pg" to ask
    the server as well.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    handle = ClusterStatusPtr()
    try:
        repo._run_with_options(options, lambda repo_handle, opts: lib.pgb_cluster_status_new(
            ctypes.byref(handle), repo_handle, opts))
        text = message_from_c(lib.pgb_cluster_status_render(handle, to_c(format)))
        level = lib.pgb_cluster_status_level(handle)
        return level, json.loads(text) if format == "json" else text
    finally:
        lib.pgb_cluster_status_free(handle)


def check(repo, options=None):
    """The advisor's findings: a list of dicts {severity, code, message, fix}, errors first."""
    return status(repo, options)[1]["findings"]


def runbook(repo, options=None):
    """The recovery runbook of the cluster (Markdown, str). Generating it is recorded in the repository.

    options: how its commands name the repository ("config", or "repo" and
    "identity" or "passphrase-file").
    """
    text = c_void_p()
    repo._run_with_options(options, lambda repo_handle, opts: lib.pgb_runbook_generate(
        repo_handle, opts, ctypes.byref(text)))
    return _take_text(text)


def expire(repo, options=None):
    """Apply the policy's retention and return the report (dict): what was kept and removed, and why.

    options: "dry-run" (decide and report, remove nothing), "as-of" (judge
    ages as of this ISO 8601 time). Raises Error -12 (PGB_ELOCKED) when
    another writer holds the cluster.
    """
    report = c_void_p()
    repo._run_with_options(options, lambda repo_handle, opts: lib.pgb_expire(repo_handle, opts, ctypes.byref(report)))
    return json.loads(_take_text(report))
