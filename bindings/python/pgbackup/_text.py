"""Text crossing into and out of C strings."""

import os

# surrogateescape lets file names and values that are not valid UTF-8 round-trip unchanged.
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


def to_c(text, what="value"):
    """Encode text (str or path) for a const char * parameter."""
    if isinstance(text, os.PathLike):
        data = os.fsencode(text)
    elif isinstance(text, str):
        data = text.encode(_ENCODING, _ERRORS)
    else:
        # str() would quietly turn None into the value "None".
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    if b"\0" in data:
        # C would silently stop at the NUL and see a different string.
        raise ValueError(f"{what} contains a NUL character")
    return data


def from_c(data):
    """Decode a value returned by the library; None stays None."""
    return None if data is None else data.decode(_ENCODING, _ERRORS)


def message_from_c(data):
    """Decode a message meant for people: never fail on odd bytes."""
    return "" if data is None else data.decode(_ENCODING, "replace")
