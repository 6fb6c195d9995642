"""Version of the libpgbackup that is loaded (it may be newer than this binding)."""

from ._lib import lib
from ._text import from_c


def version():
    """The running library's version as "MAJOR.MINOR.PATCH"."""
    return from_c(lib.pgb_version_string())


def version_number():
    """The running library's version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return lib.pgb_version()
