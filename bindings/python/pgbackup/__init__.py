"""Python binding of libpgbackup, the embeddable PostgreSQL backup library (ctypes, no build step).

The shared library is found through PGBACKUP_LIBRARY (its full path) or the
system's library search path.
"""

from .context import Context
from .errors import Error, Status, status_name
from .job import Job
from .keys import keygen
from .logical import LogicalRestore, backup_contents
from .options import Options, Source, option_names
from .probe import probe
from .repo import Repo
from .restore import RestorePlan
from .storage import Storage, StorageObject
from .verify import Problem, VerifyReport, verify_dir
from .version import version, version_number
from .wal_receive import WalReceiver, format_lsn

__all__ = [
    "Context",
    "Error",
    "Job",
    "LogicalRestore",
    "Options",
    "Problem",
    "Repo",
    "RestorePlan",
    "Source",
    "Status",
    "Storage",
    "StorageObject",
    "VerifyReport",
    "WalReceiver",
    "format_lsn",
    "backup_contents",
    "keygen",
    "option_names",
    "probe",
    "status_name",
    "verify_dir",
    "version",
    "version_number",
]
