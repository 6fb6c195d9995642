import json
import os
import re

import pytest

from pgbackup import Context, Error, Options, Repo, Storage, keygen


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private HOME: the default writer key file goes under $HOME/.config/pgbackup."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return path


def secret_file(path, text):
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def test_init_on_an_empty_folder_then_open(tmp_path):
    folder = tmp_path / "repo"
    with Storage(str(folder)) as storage:
        made = Repo.init(storage)
        assert re.fullmatch(r"[0-9a-f]{32}", made.id)
        assert made.encryption == "none"
        assert made.can_read
        made.close()
    marker = json.loads((folder / "pgbackup.repo").read_text())
    assert marker["repository_id"] == made.id
    with Storage(str(folder)) as storage, Repo.open(storage) as opened:
        assert opened.id == made.id
        assert opened.encryption == "none"
        assert opened.list() == []


def test_init_again_opens_the_same_repository(tmp_path):
    with Storage(str(tmp_path)) as storage:
        first = Repo.init(storage)
        second = Repo.init(storage, {"cluster": "other"})
        assert second.id == first.id


def test_init_refuses_a_folder_that_holds_something_else(tmp_path):
    (tmp_path / "notes.txt").write_text("not a repository")
    with Storage(str(tmp_path)) as storage:
        with pytest.raises(Error) as raised:
            Repo.init(storage)
    assert raised.value.code == -11
    assert raised.value.name == "PGB_EREFUSED"
    assert "not empty" in raised.value.message
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_open_where_there_is_no_repository(tmp_path):
    with Storage(str(tmp_path)) as storage:
        with pytest.raises(Error) as raised:
            Repo.open(storage)
    assert raised.value.code == -4
    assert "no libpgbackup repository" in raised.value.message


def test_passphrase_repository_opens_only_with_its_passphrase(tmp_path):
    right = secret_file(tmp_path / "pass", "correct horse battery staple\n")
    wrong = secret_file(tmp_path / "wrong", "Tr0ub4dor&3\n")
    with Storage(str(tmp_path / "repo")) as storage:
        with Repo.init(storage, {"passphrase-file": right}) as made:
            assert made.encryption == "passphrase"
        with pytest.raises(Error) as raised:
            Repo.open(storage, {"passphrase-file": wrong})
        assert raised.value.code == -13
        assert raised.value.name == "PGB_EAUTH"
        assert "wrong key" in raised.value.message
        with pytest.raises(Error) as raised:
            Repo.open(storage)
        assert raised.value.code == -13
        with Repo.open(storage, {"passphrase-file": right}) as opened:
            assert opened.id == made.id
            assert opened.encryption == "passphrase"
            assert opened.can_read
            assert opened.list() == []


def test_options_of_another_context_can_be_passed(tmp_path):
    passphrase = secret_file(tmp_path / "pass", "a passphrase\n")
    with Options() as options:  # its own context, not the storage's
        options.set("passphrase-file", passphrase)
        with Storage(str(tmp_path / "repo")) as storage:
            assert options.context is not storage.context
            Repo.init(storage, options).close()
            with Repo.open(storage, options) as opened:
                assert opened.encryption == "passphrase"


def test_closed_options_are_refused(tmp_path):
    options = Options()
    options.close()
    with Storage(str(tmp_path)) as storage:
        with pytest.raises(Error) as raised:
            Repo.init(storage, options)
    assert raised.value.code == -3
    assert os.listdir(tmp_path) == []


def test_keygen_writes_a_private_and_a_public_key(tmp_path):
    path = tmp_path / "backup-key"
    keygen(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert "-----BEGIN PRIVATE KEY-----" in path.read_text()
    assert "-----BEGIN PUBLIC KEY-----" in (tmp_path / "backup-key.pub").read_text()
    before = path.read_bytes()
    with pytest.raises(Error) as raised:
        keygen(str(path))
    assert raised.value.code == -5
    assert raised.value.name == "PGB_EEXISTS"
    assert str(path) in raised.value.message
    assert path.read_bytes() == before


def test_keygen_refuses_when_only_the_public_key_exists(tmp_path):
    (tmp_path / "k.pub").write_text("someone else's key")
    with pytest.raises(Error) as raised:
        keygen(tmp_path / "k")
    assert raised.value.code == -5
    assert (tmp_path / "k.pub").read_text() == "someone else's key"


def test_recipients_repository_writer_cannot_read_identity_can(tmp_path, home):
    key = tmp_path / "restore-key"
    other = tmp_path / "other-key"
    keygen(key)
    keygen(other)
    writer_key = tmp_path / "writer.key"
    with Storage(str(tmp_path / "repo")) as storage:
        options = {"recipient": [f"{key}.pub"], "writer-key": str(writer_key)}
        with Repo.init(storage, options) as made:
            assert made.encryption == "recipients"
        assert (writer_key.stat().st_mode & 0o777) == 0o600
        with Repo.open(storage, {"writer-key": str(writer_key)}) as writer:
            assert writer.id == made.id
            assert not writer.can_read
        with Repo.open(storage, {"identity": str(key)}) as reader:
            assert reader.can_read
            assert reader.list() == []
        with pytest.raises(Error) as raised:
            Repo.open(storage, {"identity": str(other)})
        assert raised.value.code == -13
        assert "wrong key" in raised.value.message
    assert not (home / ".config").exists()  # the explicit writer key went where it was told


def test_recipients_repository_default_writer_key_is_under_home(tmp_path, home):
    key = tmp_path / "restore-key"
    keygen(key)
    with Storage(str(tmp_path / "repo")) as storage:
        with Repo.init(storage, {"recipient": f"{key}.pub"}) as made:
            default = home / ".config" / "pgbackup" / f"{made.id}.writer-key"
            assert default.is_file()
        with Repo.open(storage) as writer:  # finds the default writer key
            assert not writer.can_read
        with pytest.raises(Error) as raised:
            Repo.init(Storage(str(tmp_path / "second")), {"recipient": f"{key}.pub", "writer-key": str(default)})
        assert raised.value.code == -5


def test_second_writer_is_locked_out_until_the_first_unlocks(tmp_path):
    with Storage(str(tmp_path)) as storage:
        Repo.init(storage).close()
        first, second = Repo.open(storage), Repo.open(storage)
        first.lock()
        first.lock()  # again through the same handle: nothing to do
        with pytest.raises(Error) as raised:
            second.lock()
        assert raised.value.code == -12
        assert raised.value.name == "PGB_ELOCKED"
        assert "locked by pid" in raised.value.message
        assert str(os.getpid()) in raised.value.message
        first.unlock()
        second.lock()
        with pytest.raises(Error) as raised:
            first.lock()
        assert raised.value.code == -12
        second.close()  # closing releases the lock
        first.lock()
        first.close()


def test_closing_the_storage_closes_its_repositories(tmp_path):
    storage = Storage(str(tmp_path))
    repo = Repo.init(storage)
    repo.lock()
    storage.close()
    assert repo.closed
    with pytest.raises(Error) as raised:
        repo.list()
    assert raised.value.code == -3
    assert "closed" in raised.value.message
    repo.close()
    # Closing released the lock: a new writer gets it at once.
    with Storage(str(tmp_path)) as again, Repo.open(again) as other:
        other.lock()


def test_closing_the_context_closes_storage_and_repository(tmp_path):
    context = Context()
    storage = Storage(str(tmp_path), context=context)
    repo = Repo.init(storage)
    context.close()
    assert storage.closed and repo.closed
    with pytest.raises(Error):
        repo.lock()


def test_repository_keeps_its_storage_alive(tmp_path):
    import gc

    repo = Repo.init(Storage(str(tmp_path)))  # no other reference to the storage
    gc.collect()
    repo.lock()
    assert repo.list() == []
    repo.close()


def test_repo_cannot_be_made_directly():
    with pytest.raises(TypeError):
        Repo()


def test_crosswise_contexts_do_not_deadlock(tmp_path):
    import threading

    passphrase = secret_file(tmp_path / "pass", "a passphrase\n")
    context_a, context_b = Context(), Context()
    options_a, options_b = Options(context_a), Options(context_b)
    for options in (options_a, options_b):
        options.set("passphrase-file", passphrase)
    storage_a = Storage(str(tmp_path / "a"), context=context_a)
    storage_b = Storage(str(tmp_path / "b"), context=context_b)
    Repo.init(storage_a, options_b).close()
    Repo.init(storage_b, options_a).close()
    failures = []

    def open_many(storage, options):
        try:
            for _ in range(6):  # each open runs scrypt: the two threads overlap
                Repo.open(storage, options).close()
        except Exception as error:  # reported below
            failures.append(error)

    threads = [
        threading.Thread(target=open_many, args=(storage_a, options_b)),
        threading.Thread(target=open_many, args=(storage_b, options_a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "deadlocked"
    assert failures == []
    context_a.close()
    context_b.close()
