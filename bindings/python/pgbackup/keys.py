"""Key pairs for repositories encrypted to recipients."""

from ._lib import lib
from ._text import to_c
from .context import Context


def keygen(path, context=None):
    """Make an X25519 key pair: the private key in path (PEM, mode 0600), the public one in path.pub.

    Give path.pub to hosts that write backups (option "recipient") and keep
    path where restores run (option "identity"). Raises Error with code -5
    (PGB_EEXISTS) naming the file when path or path.pub exists already; neither
    is then changed.
    """
    ctx = Context() if context is None else context
    try:
        target = to_c(path, "key file name")
        ctx.run(lambda handle: lib.pgb_keygen(handle, target))
    finally:
        if context is None:
            ctx.close()
