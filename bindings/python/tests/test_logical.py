"""Logical and globals backups and restores through the Python binding, against a real server."""

import pytest

from conftest import PG_BINDIR
from pgbackup import Error, LogicalRestore, Repo, Storage, backup_contents

SETUP = """
CREATE TABLE parent (id serial PRIMARY KEY, name text UNIQUE);
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id), note text);
CREATE INDEX child_note ON child (note);
CREATE VIEW child_names AS SELECT c.id, p.name FROM child c JOIN parent p ON p.id = c.parent_id;
INSERT INTO parent(name) SELECT 'p' || g FROM generate_series(1, 40) g;
INSERT INTO child SELECT g, 1 + g % 40, 'note ' || g FROM generate_series(1, 400) g;
"""
FINGERPRINT = "SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM child c"


def in_db(server, name):
    return type(server)(server.conninfo.replace("dbname=postgres", f"dbname={name}"))


@pytest.fixture(scope="module")
def logical(server, tmp_path_factory):
    """A repository with a logical backup of database py_shop and a globals backup, and the server."""
    server.query("DROP DATABASE IF EXISTS py_shop")
    server.query("CREATE DATABASE py_shop")
    shop = in_db(server, "py_shop")
    shop.query(SETUP)
    server.query("DROP ROLE IF EXISTS py_role")
    server.query("CREATE ROLE py_role LOGIN PASSWORD 'py-secret'")
    folder = tmp_path_factory.mktemp("logical-repo")
    storage = Storage(str(folder))
    repo = Repo.init(storage)
    base = {"pg": server.conninfo, "pg-bindir": str(PG_BINDIR)}
    record = repo.backup({**base, "type": "logical", "db": "py_shop"})
    globals_record = repo.backup({**base, "type": "globals"})
    yield server, shop, repo, base, record, globals_record
    storage.close()


def test_logical_backup_is_listed_with_its_database(logical):
    _server, _shop, repo, _base, record, globals_record = logical
    assert record["type"] == "logical" and record["databases"] == ["py_shop"]
    assert globals_record["type"] == "globals"
    kinds = {r["id"]: r["type"] for r in repo.list()}
    assert kinds[record["id"]] == "logical" and kinds[globals_record["id"]] == "globals"


def test_contents_list_the_objects_without_reading_the_dump(logical):
    _server, _shop, repo, _base, record, _globals = logical
    contents = backup_contents(repo, record["id"])
    assert contents["backup"] == record["id"]
    objects = {(o["kind"], o["schema"], o["name"]) for o in contents["databases"][0]["objects"]}
    assert ("TABLE", "public", "child") in objects
    assert ("INDEX", "public", "child_note") in objects
    assert ("VIEW", "public", "child_names") in objects
    with pytest.raises(Error) as raised:
        backup_contents(repo, record["id"], databases="nope")
    assert raised.value.code == -4


def test_selective_restore_brings_back_a_dropped_table(logical):
    server, shop, repo, base, record, _globals = logical
    before = shop.query(FINGERPRINT)
    shop.query("DROP TABLE child CASCADE")
    with LogicalRestore(repo, {**base, "backup": record["id"], "db": "py_shop", "table": ["public.child"]}) as plan:
        assert plan.info["mode"] == "selective"
        assert "VIEW public.child_names" in plan.info["objects"]
        report = plan.execute()
    assert report["analyzed"] == ["public.child"]
    assert shop.query(FINGERPRINT) == before
    assert shop.query("SELECT count(*) FROM child_names") == "400"
    assert shop.query("SELECT count(*) FROM pg_indexes WHERE indexname = 'child_note'") == "1"


def test_whole_restore_into_a_new_database(logical):
    server, shop, repo, base, record, _globals = logical
    server.query("DROP DATABASE IF EXISTS py_shop_copy")
    plan = LogicalRestore(repo, {**base, "backup": record["id"], "db": "py_shop", "create": True,
                                 "target-db": "py_shop_copy", "jobs": 2})
    assert plan.info["input"] == "file" and plan.info["create"] is True
    plan.execute()
    plan.close()
    assert in_db(server, "py_shop_copy").query(FINGERPRINT) == shop.query(FINGERPRINT)


def test_globals_restore_brings_back_a_dropped_role(logical):
    server, _shop, repo, base, _record, globals_record = logical
    before = server.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'py_role'")
    server.query("DROP ROLE py_role")
    report = LogicalRestore(repo, {**base, "type": "globals", "backup": globals_record["id"]}).execute()
    assert "postgres" in report["roles_existing"]
    assert report["errors"] == []
    assert server.query("SELECT rolpassword FROM pg_authid WHERE rolname = 'py_role'") == before


def test_errors_change_nothing(logical):
    server, _shop, repo, base, record, _globals = logical
    with pytest.raises(Error) as raised:
        LogicalRestore(repo, {**base, "backup": "20200101T000000.000Z-logical", "db": "py_shop"})
    assert raised.value.code == -4
    with pytest.raises(Error) as raised:
        LogicalRestore(repo, {**base, "backup": record["id"], "db": "py_shop", "create": True})
    assert raised.value.code == -11  # exists, and no clean
    with pytest.raises(Error) as raised:
        repo.backup({**base, "type": "logical", "db": "py_shop", "pg-bindir": "/nonexistent"})
    assert raised.value.code == -4
    assert server.query("SELECT count(*) FROM pg_database WHERE datname LIKE 'py_shop%'") == "2"
