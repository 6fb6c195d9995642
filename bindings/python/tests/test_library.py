import os
import pathlib
import subprocess
import sys

import pytest

from pgbackup import _lib

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_soname_is_derived_from_the_abi_version():
    assert _lib.SONAME == "libpgbackup.so." + ".".join(map(str, _lib.ABI_VERSION))


class FakeLibrary:
    """Just enough of a CDLL for _abi_of: pgb_version() returning a fixed number."""

    def __init__(self, number):
        def pgb_version():
            return number

        self.pgb_version = pgb_version


@pytest.mark.parametrize(
    "number, abi",
    [(100, (0, 1)), (105, (0, 1)), (200, (0, 2)), (10000, (1,)), (10203, (1,))],
)
def test_abi_of_a_library_follows_the_soname_rule(number, abi):
    assert _lib._abi_of(FakeLibrary(number)) == abi


def test_library_is_found_without_pgbackup_library():
    # Where the library is: PGBACKUP_LIBRARY's folder, or the one it was found in without it.
    from pgbackup import _lib

    explicit = os.environ.get("PGBACKUP_LIBRARY") or _lib.loaded_path()
    environment = {key: value for key, value in os.environ.items() if key != "PGBACKUP_LIBRARY"}
    environment["LD_LIBRARY_PATH"] = os.path.dirname(explicit)
    environment["PYTHONPATH"] = str(PACKAGE_ROOT)
    result = subprocess.run(
        [sys.executable, "-c", "import pgbackup; print(pgbackup.version())"],
        capture_output=True, text=True, env=environment, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    import pgbackup

    assert result.stdout.strip() == pgbackup.version()
