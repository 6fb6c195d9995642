"""Backups, restores and verification against a real PostgreSQL server (the backup_server fixture)."""

import gc
import os
import re
import shutil
import threading
import time
import types

import pytest

from pgbackup import Error, Job, Repo, Storage, verify_dir

ROWS = 1000


def expected_rows(table_note):
    """The rows the tests insert, computed here rather than read back, as psql prints them."""
    return "".join(f"{i}|{table_note} {i}\n" for i in range(1, ROWS + 1))


def make_table(server, name, note):
    server.query(f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, note text); "
                 f"INSERT INTO {name} SELECT g, '{note} ' || g FROM generate_series(1, {ROWS}) g")
    assert server.query_lines(f"SELECT id, note FROM {name} ORDER BY id") == expected_rows(note)


def backup_options(server, **more):
    return {"pg": server.conninfo, "checkpoint": "fast", **more}


@pytest.fixture(scope="module")
def backed_up(backup_server, tmp_path_factory):
    """A repository holding one full backup of the server, taken after a table of known rows was made."""
    make_table(backup_server, "known_rows", "row")
    folder = tmp_path_factory.mktemp("repo")
    with Storage(str(folder)) as storage, Repo.init(storage) as repo:
        record = repo.backup(backup_options(backup_server))
    return types.SimpleNamespace(folder=folder, record=record, id=record["id"], rows=expected_rows("row"))


def open_repo(folder):
    """A repository handle on its own storage; closing the storage closes it."""
    storage = Storage(str(folder))
    return storage, Repo.open(storage)


def flip_byte(path, offset=None):
    data = bytearray(path.read_bytes())
    where = len(data) // 2 if offset is None else offset
    data[where] ^= 0x10
    path.chmod(0o600)
    path.write_bytes(bytes(data))


def test_backup_is_listed_as_physical(backed_up):
    record = backed_up.record
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{3}Z-full", backed_up.id)
    assert record["type"] == "physical"
    assert record["mode"] == "stream"
    assert record["incremental"] is False
    assert record["parent"] is None
    assert re.fullmatch(r"[0-9A-F]+/[0-9A-F]+", record["start_lsn"])
    assert record["files"] > 900
    assert 0 < record["stored_size"] < record["database_size"]
    storage, repo = open_repo(backed_up.folder)
    with storage:
        listed = repo.list()
    assert [entry["id"] for entry in listed] == [backed_up.id]
    assert listed[0] == record  # the job's record is the one the catalog holds


def test_verify_reads_every_file_of_the_backup(backed_up):
    storage, repo = open_repo(backed_up.folder)
    with storage:
        newest = repo.verify()
        named = repo.verify(backed_up.id)
        parallel = repo.verify(backed_up.id, {"jobs": 4})
    for report in (newest, named, parallel):
        assert report.ok, report.to_json()
        assert report.problems == []
        assert report.files_checked > 900
        assert report.bytes_checked == backed_up.record["database_size"]
        assert report.backup_id == backed_up.id


def test_verify_finds_a_flipped_byte_in_a_pack(backed_up, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(backed_up.folder, damaged)  # the shared repository stays sound
    packs = [path for path in damaged.glob("clusters/*/packs/**/*") if path.is_file()]
    assert packs, "no pack files under clusters/*/packs/"
    flip_byte(max(packs, key=lambda path: path.stat().st_size))
    storage, repo = open_repo(damaged)
    with storage:
        report = repo.verify(backed_up.id)
    assert not report.ok
    assert not report
    checksum = [problem for problem in report.problems if problem.kind == "checksum"]
    assert checksum, report.to_json()
    assert all(problem.path and problem.message for problem in checksum)


def test_restored_cluster_starts_and_has_the_original_rows(backed_up, backup_server, running_cluster, tmp_path):
    target = tmp_path / "restored"
    storage, repo = open_repo(backed_up.folder)
    with storage:
        with repo.restore_plan({"to": str(target), "backup": backed_up.id}) as plan:
            assert plan.backup_id == backed_up.id
            assert plan.info["target"] == str(target)
            assert plan.info["files"] == backed_up.record["files"]
            assert plan.info["wal"]["count"] >= 1
            assert not target.exists()  # a plan writes nothing
            plan.execute()
    assert (target / "global" / "pg_control").is_file()
    # The source changes after the backup; the restored cluster must not see it.
    backup_server.query("UPDATE known_rows SET note = 'changed' WHERE id = 1")
    with running_cluster(target) as restored:
        assert restored.conninfo != backup_server.conninfo
        assert restored.query_lines("SELECT id, note FROM known_rows ORDER BY id") == backed_up.rows
    assert not target.exists()


def test_verify_dir_passes_a_restored_directory_then_finds_a_damaged_byte(backed_up, tmp_path):
    target = tmp_path / "restored"
    storage, repo = open_repo(backed_up.folder)
    try:
        with storage:
            plan = repo.restore({"to": str(target), "backup": backed_up.id})
        assert plan["backup"] == backed_up.id
        sound = verify_dir(target)
        assert sound.ok, sound.to_json()
        assert sound.files_checked > 900
        assert sound.directory == str(target)
        assert sound.backup_id is None

        files = [path for path in (target / "base").rglob("*") if path.is_file() and path.stat().st_size > 0]
        victim = max(files, key=lambda path: path.stat().st_size)
        flip_byte(victim)
        damaged = verify_dir(str(target), {"jobs": 2})
        relative = victim.relative_to(target).as_posix()
        assert not damaged.ok
        assert [(problem.kind, problem.path) for problem in damaged.problems] == [("checksum", relative)]
        assert relative in damaged.problems[0].message
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_verify_dir_of_a_missing_folder(tmp_path):
    with pytest.raises(Error) as raised:
        verify_dir(tmp_path / "absent")
    assert raised.value.code == -4


def test_restore_into_a_non_empty_folder_is_refused(backed_up, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    storage, repo = open_repo(backed_up.folder)
    with storage:
        with pytest.raises(Error) as raised:
            repo.restore({"to": str(target)})
    assert raised.value.code == -11
    assert raised.value.name == "PGB_EREFUSED"
    assert "not empty" in raised.value.message
    assert os.listdir(target) == ["keep.txt"]


def test_restore_of_an_unknown_backup(backed_up, tmp_path):
    storage, repo = open_repo(backed_up.folder)
    with storage:
        with pytest.raises(Error) as raised:
            repo.restore_plan({"to": str(tmp_path / "x"), "backup": "20000101T000000.000Z-full"})
    assert raised.value.code == -4
    assert "20000101T000000.000Z-full" in raised.value.message


def test_incremental_after_an_update_has_the_full_backup_as_parent(backup_server, tmp_path):
    make_table(backup_server, "incremental_rows", "before")
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        full = repo.backup(backup_options(backup_server))
        backup_server.query("UPDATE incremental_rows SET note = 'after' WHERE id <= 10")
        incremental = repo.backup(backup_options(backup_server, incremental=True))
        assert incremental["incremental"] is True
        assert incremental["parent"] == full["id"]
        assert incremental["id"].endswith("-incr")
        assert incremental["stored_size"] < full["stored_size"]  # unchanged chunks are reused
        assert [entry["id"] for entry in repo.list()] == [full["id"], incremental["id"]]
        assert repo.verify(incremental["id"]).ok


def test_cancel_from_another_thread_commits_nothing(backup_server, tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        job = repo.job(backup_options(backup_server))
        outcome = {}

        def run():
            try:
                outcome["record"] = job.run()
            except Error as error:
                outcome["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 10
        while not job.running and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)
        job.cancel()  # must not wait for the Context lock that run() holds
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert "record" not in outcome, "the backup finished before the cancel"
        assert outcome["error"].code == -9
        assert outcome["error"].name == "PGB_ECANCELED"
        assert job.backup_id is not None and job.record is None
        assert repo.list() == []
        job.close()
        # The cancel does not stick to the Context, and the writer lock was released.
        record = repo.backup(backup_options(backup_server))
        assert [entry["id"] for entry in repo.list()] == [record["id"]]


def test_cancel_before_run_fails_at_once(backup_server, tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as repo:
        with repo.job(backup_options(backup_server)) as job:
            job.cancel()
            with pytest.raises(Error) as raised:
                job.run()
            assert raised.value.code == -9
            with pytest.raises(Error) as raised:
                job.run()  # a job runs once
            assert raised.value.code == -3
        assert repo.list() == []
        repo.lock()  # the canceled job let its lock go
        repo.unlock()


def test_unknown_logical_backup_format(tmp_path):
    with Storage(str(tmp_path)) as storage, Repo.init(storage) as repo:
        with pytest.raises(Error) as raised:
            repo.job({"type": "logical", "format": "tar"})
    assert raised.value.code == -3
    assert "custom or directory" in raised.value.message


def test_closing_the_repository_closes_its_jobs_and_plans(backed_up, tmp_path):
    storage, repo = open_repo(backed_up.folder)
    job = Job(repo, {"pg": "host=127.0.0.1 port=1"})  # made, never run: nothing connects
    plan = repo.restore_plan({"to": str(tmp_path / "never")})
    assert plan.backup_id == backed_up.id
    repo.close()
    assert job.closed and plan.closed
    with pytest.raises(Error) as raised:
        job.run()
    assert raised.value.code == -3
    with pytest.raises(Error) as raised:
        plan.execute()
    assert raised.value.code == -3
    job.cancel()  # ignored on a closed job
    assert not (tmp_path / "never").exists()
    storage.close()


def test_a_job_keeps_its_repository_alive(tmp_path):
    job = Repo.init(Storage(str(tmp_path))).job({"pg": "host=127.0.0.1 port=1 connect_timeout=5"})
    gc.collect()
    assert not job.repo.closed
    with pytest.raises(Error) as raised:
        job.run()
    assert raised.value.code == -7
    assert job.repo.list() == []
    job.close()


def test_point_in_time_plans_name_their_target_and_restore_command(backed_up, tmp_path):
    target = tmp_path / "pitr"
    storage, repo = open_repo(backed_up.folder)
    with storage:
        # Nothing archived after the backup: the backup alone, no archive recovery.
        with repo.restore_plan({"to": str(target)}) as plan:
            recovery = plan.info["recovery"]
            assert recovery["mode"] == "backup-only" and plan.info["restore_command"] is None
            assert recovery["target"]["kind"] == "latest" and recovery["target"]["timeline"] == "latest"
        with repo.restore_plan({"to": str(target), "target": "immediate", "target-action": "promote",
                                "program": "/bin/true", "repo": str(backed_up.folder)}) as plan:
            recovery = plan.info["recovery"]
            assert recovery["mode"] == "archive-recovery"
            assert recovery["target"] == {"kind": "immediate", "value": None, "inclusive": True,
                                          "timeline": "latest", "action": "promote"}
            assert plan.info["restore_command"].endswith("pgbackup-restore.conf' wal-fetch %f %p")
            assert recovery["timeline_path"] == [{"timeline": 1, "begin": "0/0", "end": None}]
        assert not target.exists()
        with pytest.raises(Error) as raised:
            repo.restore_plan({"to": str(target), "target-lsn": "0/1", "program": "/bin/true"})
        assert raised.value.code == -4 and "no physical backup" in raised.value.message
        with pytest.raises(Error) as raised:
            repo.restore_plan({"to": str(target), "target-lsn": "0/1", "target-name": "x"})
        assert raised.value.code == -3 and "both set" in raised.value.message
