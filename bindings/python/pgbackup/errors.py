"""Status codes and the exception that carries a failure's details."""

import enum

from ._lib import lib
from ._text import message_from_c


class Status(enum.IntEnum):
    """The PGB_* status codes of include/pgbackup/error.h."""

    OK = 0
    ERROR = -1
    ENOMEM = -2
    EINVALID = -3
    ENOTFOUND = -4
    EEXISTS = -5
    ECORRUPT = -6
    ECONNECTION = -7
    EIO = -8
    ECANCELED = -9
    EUNSUPPORTED = -10
    EREFUSED = -11
    ELOCKED = -12
    EAUTH = -13
    ITEROVER = -14


def status_name(code):
    """Symbolic name of a status code, such as "PGB_ENOTFOUND"."""
    return message_from_c(lib.pgb_status_name(code))


class Error(Exception):
    """A libpgbackup failure.

    Attributes: code (a negative PGB_E* value), name ("PGB_ECONNECTION"),
    message (what failed and on which object) and detail (a server's message or
    a hint; may be empty).
    """

    def __init__(self, code, message, detail=""):
        super().__init__(message)
        self.code = code
        self.name = status_name(code)
        self.message = message
        self.detail = detail

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"Error(code={self.code}, name={self.name!r}, message={self.message!r})"
