"""WalReceiver against a real PostgreSQL server: WAL streamed in a thread lands in the repository."""

import time

import pytest

from pgbackup import Error, Repo, Storage, WalReceiver, format_lsn

SEGMENT_SIZE = 16 * 1024 * 1024
SLOT = "pgbackup_py_receive"


def lsn(text):
    high, low = text.split("/")
    return int(high, 16) << 32 | int(low, 16)


def wait_for(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def drop_slot(server):
    """The slot is permanent; drop it once its walsender is gone, so it holds no WAL for the other tests."""
    wait_for(lambda: server.query(
        f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{SLOT}' AND active") == "0",
        "the slot to be free")
    server.query(f"SELECT pg_drop_replication_slot('{SLOT}') FROM pg_replication_slots WHERE slot_name = '{SLOT}'")


def test_format_lsn_is_postgresql_s():
    assert format_lsn(0) == "0/0"
    assert format_lsn(0x16B374D848) == "16/B374D848"


def test_receiver_in_a_thread_archives_the_servers_wal(backup_server, tmp_path):
    try:
        receive_and_compare(backup_server, tmp_path)
    finally:
        drop_slot(backup_server)


def receive_and_compare(backup_server, tmp_path):
    """Stream into a fresh repository in a thread; compare what it archived with the server's pg_wal."""
    repo_path = str(tmp_path / "repo")
    with Storage(repo_path) as storage, Repo.init(storage, {"cluster": "py-receive"}) as repo:
        receiver = WalReceiver(repo, {"pg": backup_server.conninfo, "partial-interval": 0})
        assert receiver.slot == SLOT  # pgbackup_ and the cluster, "-" as "_"
        assert receiver.received_lsn == "0/0"
        receiver.start()
        try:
            wait_for(lambda: backup_server.query(
                f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{SLOT}' "
                "AND state = 'streaming'") == "1", "the receiver to stream")
            backup_server.query("CREATE TABLE py_receive AS SELECT g AS id FROM generate_series(1, 50000) g")
            switched = backup_server.query("SELECT pg_walfile_name(pg_switch_wal())")
            backup_server.query("INSERT INTO py_receive VALUES (0)")
            end = lsn(backup_server.query("SELECT pg_current_wal_flush_lsn()"))
            wait_for(lambda: receiver.flushed_position >= end, "the receiver to archive the last insert")
            assert lsn(receiver.received_lsn) >= end
            assert lsn(receiver.flushed_lsn) >= end
            assert receiver.timeline == int(backup_server.query("SELECT timeline_id FROM pg_control_checkpoint()"))

            # Read through a second handle while the receiver runs: the switched segment is the server's file.
            data_dir = backup_server.query("SHOW data_directory")
            server_copy = (tmp_path / "server-copy")
            server_copy.write_bytes(open(f"{data_dir}/pg_wal/{switched}", "rb").read())
            with Storage(repo_path) as reading, Repo.open(reading, {"cluster": "py-receive"}) as reader:
                reader.wal_fetch(switched, tmp_path / "switched")
                current = backup_server.query(f"SELECT pg_walfile_name('{format_lsn(end)}')")
                reader.wal_fetch(current, tmp_path / "current")  # served from its partial
            assert (tmp_path / "switched").read_bytes() == server_copy.read_bytes()
            partial = (tmp_path / "current").read_bytes()
            assert len(partial) == SEGMENT_SIZE
            held = end % SEGMENT_SIZE
            assert partial[:held] == open(f"{data_dir}/pg_wal/{current}", "rb").read(held)
        finally:
            assert receiver.stop(timeout=60)
        assert not receiver.running
        with pytest.raises(Error) as raised:
            receiver.run()  # a receiver runs once
        assert raised.value.code == -3
        receiver.close()
        assert receiver.closed


def test_stop_before_run_returns_at_once(tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        with WalReceiver(repo, {"pg": "host=127.0.0.1 port=1"}) as receiver:
            receiver.stop()
            receiver.run()  # no connection is even tried
            assert receiver.received_lsn == "0/0"


def test_a_server_that_cannot_be_reached_fails_the_first_run(tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        with WalReceiver(repo, {"pg": "host=127.0.0.1 port=1 connect_timeout=5"}) as receiver:
            with pytest.raises(Error) as raised:
                receiver.run()
            assert raised.value.code == -7  # PGB_ECONNECTION


def test_a_slot_name_postgresql_refuses_is_refused(tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        with pytest.raises(Error) as raised:
            WalReceiver(repo, {"slot": "Bad-Name"})
        assert raised.value.code == -3  # PGB_EINVALID
        assert "cannot name a replication slot" in raised.value.message
