import os

import pytest

from pgbackup import Context, Error, Storage, StorageObject


@pytest.fixture
def storage(tmp_path):
    with Storage(str(tmp_path / "store")) as opened:
        yield opened


def test_put_and_get_round_trip_random_bytes(storage, tmp_path):
    data = os.urandom(300_000) + b"\0tail"  # several read buffers, and a NUL inside
    storage.put("data/blob", data)
    assert storage.get("data/blob") == data
    assert storage.stat("data/blob") == len(data)
    # It is a real file under the storage's folder, read back by another storage.
    assert (tmp_path / "store" / "data" / "blob").read_bytes() == data
    with Storage(f"file://{tmp_path / 'store'}") as again:
        assert again.get("data/blob") == data


def test_empty_object_round_trips(storage):
    storage.put("empty", b"")
    assert storage.get("empty") == b""
    assert storage.stat("empty") == 0


def test_put_replaces_unless_told_not_to(storage):
    storage.put("k", b"first")
    storage.put("k", bytearray(b"second"))
    assert storage.get("k") == b"second"
    with pytest.raises(Error) as raised:
        storage.put("k", b"third", overwrite=False)
    assert raised.value.code == -5
    assert "k" in raised.value.message
    assert storage.get("k") == b"second"


def test_missing_key_is_not_found_and_named(storage):
    with pytest.raises(Error) as raised:
        storage.get("wal/absent-segment")
    assert raised.value.code == -4
    assert raised.value.name == "PGB_ENOTFOUND"
    assert "wal/absent-segment" in raised.value.message
    with pytest.raises(Error) as raised:
        storage.stat("wal/absent-segment")
    assert raised.value.code == -4
    assert "wal/absent-segment" in raised.value.message


def test_list_gives_exactly_the_keys_under_a_prefix(storage):
    objects = {"a/1": b"x", "a/2": b"yy", "a/sub/3": b"zzz", "b/1": b"q", "ab": b"not under a/"}
    for key, data in objects.items():
        storage.put(key, data)
    assert storage.list("a/") == [("a/1", 1), ("a/2", 2), ("a/sub/3", 3)]
    listed = storage.list()
    assert listed == sorted(StorageObject(key, len(data)) for key, data in objects.items())
    assert listed[0].key == "a/1" and listed[0].size == 1
    assert storage.list("c/") == []


def test_remove_deletes_and_absent_is_not_an_error(storage):
    storage.put("gone/soon", b"data")
    storage.put("gone/stays", b"data")
    storage.remove("gone/soon")
    with pytest.raises(Error) as raised:
        storage.stat("gone/soon")
    assert raised.value.code == -4
    assert storage.list("gone/") == [("gone/stays", 4)]
    storage.remove("gone/soon")


def test_bad_key_is_refused(storage):
    for key in ("../escape", "a//b", ".hidden", ""):
        with pytest.raises(Error) as raised:
            storage.put(key, b"x")
        assert raised.value.code == -3, key
    assert storage.list() == []


def test_unknown_scheme_is_unsupported():
    with pytest.raises(Error) as raised:
        Storage("gs://bucket/path")
    assert raised.value.code == -10
    assert "gs" in raised.value.message


def test_name_is_the_url(tmp_path):
    url = f"file://{tmp_path}/named"
    with Storage(url) as storage:
        assert storage.name == url


def test_closing_the_context_closes_the_storage(tmp_path):
    context = Context()
    storage = Storage(str(tmp_path), context=context)
    storage.put("k", b"v")
    context.close()
    assert storage.closed
    with pytest.raises(Error) as raised:
        storage.get("k")
    assert raised.value.code == -3
    assert "closed" in raised.value.message
    storage.close()  # after its context: frees nothing twice

