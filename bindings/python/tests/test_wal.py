"""The WAL archive: Repo.wal_push and Repo.wal_fetch, on fake segments (no server needed)."""

import random
import struct

import pytest

from pgbackup import Error, Options, Repo, Storage

SEGMENT_SIZE = 16 * 1024 * 1024


def fake_segment(segno, seed, timeline=1):
    """A segment as PostgreSQL 15 writes it: a long page header at the position of
    segment segno, then bytes that depend on seed. Returns (name, content)."""
    rest = random.Random(seed).randbytes(SEGMENT_SIZE // 4) * 4  # compressible, not constant
    header = struct.pack(
        "<HHIQIxxxxQII",
        0xD110,                 # xlp_magic: PostgreSQL 15
        0x0002,                 # xlp_info: XLP_LONG_HEADER
        timeline,               # xlp_tli
        segno * SEGMENT_SIZE,   # xlp_pageaddr
        0,                      # xlp_rem_len (then 4 bytes of padding)
        7300000000000000001,    # xlp_sysid
        SEGMENT_SIZE,           # xlp_seg_size
        8192,                   # xlp_xlog_blcksz
    )
    assert len(header) == 40
    segments_per_xlogid = 0x100000000 // SEGMENT_SIZE
    name = "%08X%08X%08X" % (timeline, segno // segments_per_xlogid, segno % segments_per_xlogid)
    return name, header + rest[len(header):]


def write_segment(folder, segno, seed):
    name, data = fake_segment(segno, seed)
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return name, path, data


@pytest.fixture
def repo(tmp_path):
    with Storage(str(tmp_path / "repo")) as storage, Repo.init(storage) as made:
        yield made


def test_push_then_fetch_gives_the_same_bytes(repo, tmp_path):
    name, path, data = write_segment(tmp_path / "pg_wal", 3, seed=1)
    assert name == "000000010000000000000003"
    repo.wal_push(str(path))
    repo.wal_push(path)  # identical content again (the server re-archives after a crash): fine
    target = tmp_path / "restored" / "RECOVERYXLOG"
    target.parent.mkdir()
    repo.wal_fetch(name, str(target))
    assert target.read_bytes() == data


def test_push_of_different_content_under_the_same_name_is_refused(repo, tmp_path):
    name, first, data = write_segment(tmp_path / "a", 3, seed=1)
    repo.wal_push(first)
    _, second, _ = write_segment(tmp_path / "b", 3, seed=2)
    with pytest.raises(Error) as raised:
        repo.wal_push(second)
    assert raised.value.code == -5
    assert raised.value.name == "PGB_EEXISTS"
    target = tmp_path / "fetched"
    repo.wal_fetch(name, target)
    assert target.read_bytes() == data  # the archived copy is kept


def test_push_with_options(repo, tmp_path):
    name, path, data = write_segment(tmp_path / "pg_wal", 4, seed=3)
    repo.wal_push(path, {"compress": "zstd:1"})
    with Options(repo.storage.context) as opts:
        opts.set("compress", "zstd:9")
        repo.wal_push(path, opts)  # identical content, other compression: still fine
    target = tmp_path / "fetched"
    repo.wal_fetch(name, target)
    assert target.read_bytes() == data


def test_fetch_of_a_file_never_archived(repo, tmp_path):
    target = tmp_path / "fetched"
    with pytest.raises(Error) as raised:
        repo.wal_fetch("000000010000000000000009", str(target))
    assert raised.value.code == -4
    assert raised.value.name == "PGB_ENOTFOUND"
    assert not target.exists()


def test_push_refuses_a_segment_at_the_wrong_position(repo, tmp_path):
    _, data = fake_segment(3, seed=1)
    path = tmp_path / "000000010000000000000005"  # named as segment 5, header says 3
    path.write_bytes(data)
    with pytest.raises(Error) as raised:
        repo.wal_push(path)
    assert raised.value.code == -6  # PGB_ECORRUPT


def test_push_refuses_a_name_that_is_not_a_wal_file(repo, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not WAL")
    with pytest.raises(Error) as raised:
        repo.wal_push(path)
    assert raised.value.code == -3  # PGB_EINVALID


def ready_segment(pg_wal, segno, seed):
    """A segment in pg_wal with its archive_status/<name>.ready, as the server leaves it for archiving."""
    name, path, data = write_segment(pg_wal, segno, seed)
    (pg_wal / "archive_status").mkdir(exist_ok=True)
    (pg_wal / "archive_status" / (name + ".ready")).write_bytes(b"")
    return name, path, data


def test_push_with_jobs_pushes_the_ready_segments_ahead(repo, tmp_path):
    pg_wal = tmp_path / "pg_wal"
    segments = [ready_segment(pg_wal, segno, seed=segno) for segno in (3, 4, 5)]
    repo.wal_push(segments[0][1], {"jobs": 2})
    spool = pg_wal / "pgbackup.spool"
    assert sorted(p.name for p in spool.iterdir()) == [segments[1][0] + ".pushed", segments[2][0] + ".pushed"]
    # The server's call for a segment pushed ahead needs no repository at all.
    (tmp_path / "repo").rename(tmp_path / "repo.away")
    repo.wal_push(segments[1][1])
    assert not (spool / (segments[1][0] + ".pushed")).exists()
    (tmp_path / "repo.away").rename(tmp_path / "repo")
    target = tmp_path / "fetched"
    repo.wal_fetch(segments[2][0], target)
    assert target.read_bytes() == segments[2][2]


def test_fetch_with_prefetch_fills_the_spool_and_serves_from_it(repo, tmp_path):
    segments = [write_segment(tmp_path / "source", segno, seed=segno) for segno in (6, 7, 8, 9)]
    for _, path, _ in segments:
        repo.wal_push(path)
    pg_wal = tmp_path / "pg_wal"
    pg_wal.mkdir()
    target = pg_wal / "RECOVERYXLOG"
    repo.wal_fetch(segments[0][0], target, {"prefetch": 2})
    assert target.read_bytes() == segments[0][2]
    spool = pg_wal / "pgbackup.spool"
    for name, _, data in segments[1:3]:
        assert (spool / (name + ".segment")).read_bytes() == data
    assert not (spool / (segments[3][0] + ".segment")).exists()
    # Served from the spool, byte for byte, with the repository out of reach.
    (tmp_path / "repo").rename(tmp_path / "repo.away")
    repo.wal_fetch(segments[1][0], target)
    assert target.read_bytes() == segments[1][2]
    assert not (spool / (segments[1][0] + ".segment")).exists()
    with pytest.raises(Error):
        repo.wal_fetch(segments[3][0], target)  # never prefetched: needs the repository
    (tmp_path / "repo.away").rename(tmp_path / "repo")


def test_fetch_with_prefetch_of_the_last_segment_still_says_not_archived(repo, tmp_path):
    name, path, data = write_segment(tmp_path / "source", 10, seed=1)
    repo.wal_push(path)
    target = tmp_path / "RECOVERYXLOG"
    repo.wal_fetch(name, target, {"prefetch": 4})
    assert target.read_bytes() == data
    assert not list((tmp_path / "pgbackup.spool").glob("*.segment"))
    with pytest.raises(Error) as raised:
        repo.wal_fetch("00000001000000000000000B", target, {"prefetch": 4})
    assert raised.value.code == -4  # PGB_ENOTFOUND
