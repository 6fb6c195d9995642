"""Probe a PostgreSQL server: the facts a backup depends on."""

import ctypes
import json

from ._lib import ServerInfoPtr, lib
from ._text import message_from_c, to_c
from .context import Context


def probe(conninfo=None, context=None):
    """Connect to a server and return its facts as a dict (the JSON schema of the C API).

    conninfo is a libpq connection string or URI; None uses only the PG*
    environment, as psql does. Raises Error (code PGB_ECONNECTION) when the
    server cannot be reached or refuses the connection.
    """
    ctx = Context() if context is None else context
    try:
        info = ServerInfoPtr()
        target = None if conninfo is None else to_c(conninfo, "conninfo")
        ctx.run(lambda handle: lib.pgb_pg_probe(ctypes.byref(info), handle, target))
        try:
            document = message_from_c(lib.pgb_server_info_to_json(info))
        finally:
            lib.pgb_server_info_free(info)
    finally:
        if context is None:
            ctx.close()
    return json.loads(document)
