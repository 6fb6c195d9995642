import gc
import json
import os

import pytest

from pgbackup import Error, Repo, Storage


class DictStore:
    """Objects in a dict: the smallest store a program could give."""

    def __init__(self):
        self.objects = {}
        self.calls = []

    def get(self, key):
        self.calls.append(("get", key))
        return self.objects[key]

    def put(self, key, data, overwrite):
        self.calls.append(("put", key))
        if not overwrite and key in self.objects:
            raise FileExistsError(key)
        self.objects[key] = data

    def list(self, prefix):
        return [(key, len(data)) for key, data in self.objects.items() if key.startswith(prefix)]

    def stat(self, key):
        return len(self.objects[key])

    def remove(self, key):
        del self.objects[key]  # KeyError for an absent key: the binding treats it as done


def test_objects_go_through_the_store():
    store = DictStore()
    with Storage.from_callbacks(store, name="dict-store") as storage:
        assert storage.name == "dict-store"
        data = os.urandom(70_000)
        storage.put("a/blob", data)
        assert store.objects["a/blob"] == data
        assert storage.get("a/blob") == data
        assert storage.stat("a/blob") == len(data)
        storage.put("a/small", b"x")
        storage.put("b", b"yy")
        assert storage.list("a/") == [("a/blob", len(data)), ("a/small", 1)]
        storage.remove("a/blob")
        storage.remove("a/blob")
        assert sorted(store.objects) == ["a/small", "b"]


def test_missing_key_is_not_found_with_the_store_error_as_cause():
    with Storage.from_callbacks(DictStore(), name="dict-store") as storage:
        with pytest.raises(Error) as raised:
            storage.get("no/such/key")
    assert raised.value.code == -4
    assert "no/such/key" in raised.value.message
    assert "dict-store" in raised.value.message
    assert isinstance(raised.value.__cause__, KeyError)


def test_repository_init_open_and_list_through_the_store():
    store = DictStore()
    with Storage.from_callbacks(store) as storage:
        gc.collect()  # the ctypes callbacks must survive a collection
        with Repo.init(storage) as made:
            assert made.encryption == "none"
    marker = json.loads(store.objects["pgbackup.repo"])
    assert marker["repository_id"] == made.id
    # A new storage over the same objects: the repository is read through get().
    with Storage.from_callbacks(store) as storage, Repo.open(storage) as opened:
        assert opened.id == made.id
        assert opened.list() == []


def test_init_refuses_a_store_holding_something_else():
    store = DictStore()
    store.objects["somebody/else"] = b"data"
    with Storage.from_callbacks(store) as storage:
        with pytest.raises(Error) as raised:
            Repo.init(storage)
    assert raised.value.code == -11
    assert "not empty" in raised.value.message
    assert list(store.objects) == ["somebody/else"]


def test_encrypted_repository_through_the_store(tmp_path):
    right, wrong = tmp_path / "pass", tmp_path / "wrong"
    for path, text in ((right, "the passphrase\n"), (wrong, "not it\n")):
        path.write_text(text)
        path.chmod(0o600)
    store = DictStore()
    with Storage.from_callbacks(store) as storage:
        Repo.init(storage, {"passphrase-file": str(right)}).close()
        with pytest.raises(Error) as raised:
            Repo.open(storage, {"passphrase-file": str(wrong)})
        assert raised.value.code == -13
        with Repo.open(storage, {"passphrase-file": str(right)}) as opened:
            assert opened.encryption == "passphrase"


def test_lock_relies_on_the_store_refusing_to_overwrite():
    store = DictStore()
    with Storage.from_callbacks(store) as first_storage, Storage.from_callbacks(store) as second_storage:
        Repo.init(first_storage).close()
        first, second = Repo.open(first_storage), Repo.open(second_storage)
        first.lock()
        with pytest.raises(Error) as raised:
            second.lock()
        assert raised.value.code == -12
        assert "locked by pid" in raised.value.message
        first.unlock()
        second.lock()
        second.close()
        first.close()


def test_a_failing_store_fails_the_call_with_its_message_and_cause():
    class Failing(DictStore):
        def put(self, key, data, overwrite):
            raise RuntimeError("the disk is on fire")

    with Storage.from_callbacks(Failing(), name="burning") as storage:
        with pytest.raises(Error) as raised:
            storage.put("k", b"v")
        with pytest.raises(Error) as raised_by_init:
            Repo.init(storage)
    assert raised.value.code == -1
    assert "the disk is on fire" in raised.value.message
    assert "burning" in raised.value.message and "k" in raised.value.message
    assert isinstance(raised.value.__cause__, RuntimeError)
    assert "the disk is on fire" in raised_by_init.value.message


def test_os_errors_are_io_errors_and_library_errors_keep_their_code():
    class Flaky(DictStore):
        def get(self, key):
            if key == "io":
                raise PermissionError("permission denied")
            raise Error(-6, "damaged")

    with Storage.from_callbacks(Flaky()) as storage:
        with pytest.raises(Error) as raised:
            storage.get("io")
        assert raised.value.code == -8
        assert "permission denied" in raised.value.message
        with pytest.raises(Error) as raised:
            storage.get("other")
        assert raised.value.code == -6


def test_a_store_that_lists_too_much_is_filtered_to_the_prefix():
    class Sloppy(DictStore):
        def list(self, prefix):
            return [(key, len(data)) for key, data in self.objects.items()]

    store = Sloppy()
    with Storage.from_callbacks(store) as storage:
        storage.put("a/1", b"1")
        storage.put("b/1", b"1")
        assert storage.list("a/") == [("a/1", 1)]


def test_stat_falls_back_to_get():
    class NoStat(DictStore):
        stat = None

    with Storage.from_callbacks(NoStat()) as storage:
        storage.put("k", b"four")
        assert storage.stat("k") == 4


def test_a_store_without_the_needed_methods_is_refused():
    class Incomplete:
        def get(self, key):
            return b""

    with pytest.raises(TypeError, match="put"):
        Storage.from_callbacks(Incomplete())
