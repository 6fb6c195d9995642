"""Verification reports: of a backup in a repository (Repo.verify) or of a backup directory (verify_dir)."""

import ctypes
import json
import typing

from ._lib import PGB_ITEROVER, VerifyFindingPtr, VerifyReportPtr, lib
from ._text import from_c, message_from_c, to_c
from .context import Context
from .errors import Error
from .options import options_for_call


class Problem(typing.NamedTuple):
    """One problem of a report.

    kind: "missing", "extra", "size", "checksum", "wal-missing" or "manifest";
    path: relative to the backup ("base/5/16384", "pg_wal/0000...02"), its
    bytes kept as they are (surrogateescape) when they are not UTF-8;
    message: a sentence naming the path.
    """

    kind: str
    path: str
    message: str


class VerifyReport:
    """What a verification found; it holds no C handle.

    ok: True when there is no problem; problems: a list of Problem, in the
    order found; files_checked and bytes_checked: what was read and compared;
    directory: the folder checked, or for a repository the backup id (then
    also backup_id; None for verify_dir). to_json() gives the library's JSON
    document (format_version 1), which may carry fields newer than this class.
    """

    def __init__(self, ok, problems, document, of_backup):
        self.ok = ok
        self.problems = problems
        self._json = document
        details = json.loads(document)
        self.files_checked = details.get("files_checked", 0)
        self.bytes_checked = details.get("bytes_checked", 0)
        self.directory = details.get("directory")
        self.backup_id = self.directory if of_backup else None

    def to_json(self):
        """The report as the library wrote it (str)."""
        return self._json

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return (f"<pgbackup.VerifyReport {self.directory!r} ok={self.ok} problems={len(self.problems)}"
                f" files_checked={self.files_checked}>")


def read_report(handle, of_backup=False):
    """Copy a pgb_verify_report into a VerifyReport, then free it.

    Call it with the context lock released or held: a report records no
    errors in any context, and this is its only reader.
    """
    try:
        problems = []
        while True:
            finding = VerifyFindingPtr()
            status = lib.pgb_verify_report_next(handle, ctypes.byref(finding))
            if status == PGB_ITEROVER:
                break
            if status != 0:
                raise Error(status, "cannot read the verification report")
            problems.append(Problem(
                message_from_c(lib.pgb_verify_finding_kind(finding)),
                from_c(lib.pgb_verify_finding_path(finding)),
                message_from_c(lib.pgb_verify_finding_message(finding)),
            ))
        ok = lib.pgb_verify_report_ok(handle) == 1
        document = message_from_c(lib.pgb_verify_report_to_json(handle))
    finally:
        lib.pgb_verify_report_free(handle)
    return VerifyReport(ok, problems, document, of_backup)


def verify_dir(path, options=None, context=None):
    """Verify a backup directory against its backup_manifest, as pg_verifybackup does.

    path: a plain backup (pg_basebackup -Fp) or a restored data directory that
    still has its backup_manifest, not yet started. options: an Options or a
    mapping, such as {"jobs": 4} (checksum workers). Every problem goes into
    the returned VerifyReport. Raises Error -6 (PGB_ECORRUPT) when the manifest
    is missing, unreadable or fails its own checksum, -4 (PGB_ENOTFOUND) when
    path does not exist, -3 (PGB_EINVALID) when it is not a directory.
    """
    folder = to_c(path, "directory")
    ctx = Context() if context is None else context
    try:
        report = VerifyReportPtr()
        with options_for_call(options, ctx) as opts:
            ctx.run(lambda handle: lib.pgb_verify_dir(ctypes.byref(report), handle, folder, opts))
        return read_report(report)
    finally:
        if context is None:
            ctx.close()
