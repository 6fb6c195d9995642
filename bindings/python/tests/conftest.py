"""A real PostgreSQL server for the probe tests, started by tests/support/pgfixture."""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURE = pathlib.Path(os.environ.get("PGB_FIXTURE", REPO_ROOT / "tests" / "support" / "pgfixture"))
PSQL = os.environ.get("PGB_PSQL", "/usr/lib/postgresql/15/bin/psql")


class Server:
    """A running server: its conninfo, and psql to ask it what it really is."""

    def __init__(self, conninfo):
        self.conninfo = conninfo

    def query(self, sql):
        """One value, as psql prints it unaligned."""
        result = subprocess.run(
            [PSQL, "-X", "-A", "-t", "-c", sql, self.conninfo],
            capture_output=True, text=True, timeout=60,
        )
        if result.returncode != 0:
            pytest.fail(f"psql failed on {sql!r}: {result.stderr}")
        return result.stdout.strip()


@pytest.fixture(scope="session")
def server(request):
    """Start a throwaway server (wal_level = logical, so the probe must really read it)."""
    parent = tempfile.mkdtemp(prefix="pgbackup-python-")
    data_dir = os.path.join(parent, "pg")  # pgfixture wants a folder that does not exist yet

    def stop():
        subprocess.run([str(FIXTURE), "stop", data_dir], capture_output=True, timeout=120)
        shutil.rmtree(parent, ignore_errors=True)

    # Registered before starting, so a half-started server is stopped too.
    request.addfinalizer(stop)
    started = subprocess.run(
        [str(FIXTURE), "start", data_dir, "wal_level = logical"],
        capture_output=True, text=True, timeout=180,
    )
    if started.returncode != 0:
        # A failure, not a skip: without a server the probe is untested.
        pytest.fail(f"pgfixture could not start PostgreSQL: {started.stderr.strip()}")
    return Server(started.stdout.strip())
