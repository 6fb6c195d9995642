"""Storage(url) with s3:// and sftp:// URLs, against a real s3rver and a real OpenSSH
server that tests/support/test-servers starts on loopback ports; a repository lives on each."""

import os
import pathlib
import pwd
import subprocess
import tempfile

import pytest

from pgbackup import Error, Repo, Storage

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
SERVERS = REPO_ROOT / "tests" / "support" / "test-servers"


def start(kind):
    folder = tempfile.mkdtemp(prefix=f"pgb-py-{kind}-")
    result = subprocess.run([str(SERVERS), kind, "start", folder], capture_output=True, text=True, timeout=60)
    if result.returncode == 2 and os.environ.get("CI") != "true":
        pytest.skip(f"{kind} is not installed (scripts/install-deps installs it)")
    assert result.returncode == 0, result.stderr
    return folder, int(result.stdout.split()[0])


def stop(kind, folder):
    subprocess.run([str(SERVERS), kind, "stop", folder], capture_output=True, timeout=60)
    subprocess.run(["rm", "-rf", folder], check=False)


@pytest.fixture(scope="module")
def s3(request):
    folder, port = start("s3rver")
    yield {"s3-endpoint": f"http://127.0.0.1:{port}", "s3-uri-style": "path", "s3-part-size": "5"}
    stop("s3rver", folder)


@pytest.fixture(scope="module")
def sftp():
    folder, port = start("sshd")
    user = pwd.getpwuid(os.geteuid()).pw_name
    yield (f"sftp://{user}@127.0.0.1:{port}{folder}",
           {"sftp-key": f"{folder}/client_key", "sftp-known-hosts": f"{folder}/known_hosts"})
    stop("sshd", folder)


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "S3RVER")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "S3RVER")


def exercise(storage):
    data = os.urandom(7 * 1024 * 1024)  # two S3 parts
    storage.put("packs/big", data)
    assert storage.get("packs/big") == data
    assert storage.stat("packs/big") == len(data)
    storage.put("records/one", b"first", overwrite=False)
    with pytest.raises(Error) as raised:
        storage.put("records/one", b"second", overwrite=False)
    assert raised.value.code == -5
    assert storage.get("records/one") == b"first"
    assert sorted(storage.list()) == [("packs/big", len(data)), ("records/one", 5)]
    storage.remove("packs/big")
    assert [o.key for o in storage.list()] == ["records/one"]


def test_s3_url_round_trips_objects(s3, credentials):
    with Storage("s3://pgbackup-test/python/objects", options=s3) as storage:
        assert storage.name == "s3://pgbackup-test/python/objects"
        exercise(storage)


def test_s3_unknown_access_key_is_an_auth_error(s3, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    with Storage("s3://pgbackup-test/python/auth", options=s3) as storage:
        with pytest.raises(Error) as raised:
            storage.put("x", b"x")
    assert raised.value.code == -13
    assert "InvalidAccessKeyId" in raised.value.message


def test_sftp_url_round_trips_objects(sftp):
    base, options = sftp
    with Storage(f"{base}/objects", options=options) as storage:
        exercise(storage)


def test_sftp_unknown_host_key_is_refused(sftp, tmp_path):
    base, options = sftp
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(Error) as raised:
        Storage(f"{base}/x", options={**options, "sftp-known-hosts": str(empty)})
    assert raised.value.code == -13
    assert "SHA256:" in raised.value.message


def test_repositories_live_on_s3_and_sftp(s3, credentials, sftp):
    base, sftp_options = sftp
    for url, options in (("s3://pgbackup-test/python/repo", s3), (f"{base}/repo", sftp_options)):
        with Storage(url, options=options) as storage:
            repo = Repo.init(storage)
            assert repo.list() == [] or len(repo.list()) == 0
            repo.lock()
            repo.unlock()
            assert storage.stat("pgbackup.repo") > 0
