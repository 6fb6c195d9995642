"""Python binding of libpgbackup, the embeddable PostgreSQL backup library (ctypes, no build step).

The shared library is found through PGBACKUP_LIBRARY (its full path) or the
system's library search path.
"""

from .context import Context
from .errors import Error, Status, status_name
from .keys import keygen
from .options import Options, Source, option_names
from .probe import probe
from .repo import Repo
from .storage import Storage, StorageObject
from .version import version, version_number

__all__ = [
    "Context",
    "Error",
    "Options",
    "Repo",
    "Source",
    "Status",
    "Storage",
    "StorageObject",
    "keygen",
    "option_names",
    "probe",
    "status_name",
    "version",
    "version_number",
]
