"""Real PostgreSQL servers for the probe and backup tests, started by tests/support/pgfixture."""

import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURE = pathlib.Path(os.environ.get("PGB_FIXTURE", REPO_ROOT / "tests" / "support" / "pgfixture"))
PG_BINDIR = pathlib.Path(os.environ.get("PGB_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PSQL = os.environ.get("PGB_PSQL", str(PG_BINDIR / "psql"))


class Server:
    """A running server: its conninfo, and psql to ask it what it really is."""

    def __init__(self, conninfo):
        self.conninfo = conninfo

    def query(self, sql):
        """One value, as psql prints it unaligned."""
        return self.query_lines(sql).strip()

    def query_lines(self, sql):
        """The rows of a query as psql prints them unaligned, one per line."""
        result = subprocess.run(
            [PSQL, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, self.conninfo],
            capture_output=True, text=True, timeout=60,
        )
        if result.returncode != 0:
            pytest.fail(f"psql failed on {sql!r}: {result.stderr}")
        return result.stdout


@pytest.fixture(scope="session")
def server(request):
    """Start a throwaway server (wal_level = logical, so the probe must really read it)."""
    return _start_fixture(request, "wal_level = logical")


@pytest.fixture(scope="session")
def backup_server(request):
    """A throwaway server that physical backups can stream from."""
    return _start_fixture(request, "wal_level = replica", "max_wal_senders = 4")


def _start_fixture(request, *settings):
    parent = tempfile.mkdtemp(prefix="pgbackup-python-")
    data_dir = os.path.join(parent, "pg")  # pgfixture wants a folder that does not exist yet

    def stop():
        subprocess.run([str(FIXTURE), "stop", data_dir], capture_output=True, timeout=120)
        shutil.rmtree(parent, ignore_errors=True)

    # Registered before starting, so a half-started server is stopped too.
    request.addfinalizer(stop)
    started = subprocess.run(
        [str(FIXTURE), "start", data_dir, *settings],
        capture_output=True, text=True, timeout=180,
    )
    if started.returncode != 0:
        # A failure, not a skip: without a server the probe and backups are untested.
        pytest.fail(f"pgfixture could not start PostgreSQL: {started.stderr.strip()}")
    return Server(started.stdout.strip())


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_cluster():
    """running_cluster(data_dir): a with block in which a server runs on a restored data directory."""
    return _running_cluster


@contextlib.contextmanager
def _running_cluster(data_dir):
    """Start a server on a restored data directory; stop it and remove the directory afterwards, always.

    Yields a Server to query it. The socket goes to a short folder of its own:
    a Unix socket path may not exceed 107 bytes.
    """
    sockets = tempfile.mkdtemp(prefix="pgb-sock-")
    log = os.path.join(sockets, "server.log")
    pg_ctl = str(PG_BINDIR / "pg_ctl")
    try:
        port = _free_port()
        started = subprocess.run(
            [pg_ctl, "-D", str(data_dir), "-l", log, "-w", "-t", "60",
             "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1", "start"],
            capture_output=True, text=True, timeout=120,
        )
        if started.returncode != 0:
            server_log = pathlib.Path(log).read_text() if os.path.exists(log) else ""
            pytest.fail(f"the restored cluster did not start: {started.stderr.strip()}\n{server_log}")
        yield Server(f"host=127.0.0.1 port={port} user=postgres dbname=postgres")
    finally:
        if os.path.exists(os.path.join(str(data_dir), "postmaster.pid")):
            stopped = subprocess.run([pg_ctl, "-D", str(data_dir), "-m", "fast", "-w", "-t", "60", "stop"],
                                     capture_output=True, timeout=120)
            if stopped.returncode != 0:
                subprocess.run([pg_ctl, "-D", str(data_dir), "-m", "immediate", "-w", "stop"],
                               capture_output=True, timeout=120)
        shutil.rmtree(str(data_dir), ignore_errors=True)
        shutil.rmtree(sockets, ignore_errors=True)
