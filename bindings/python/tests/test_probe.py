import pytest

import pgbackup


def test_probe_reports_what_psql_sees(server):
    facts = pgbackup.probe(server.conninfo)
    assert facts["format_version"] == 1
    assert facts["wal_level"] == server.query("SHOW wal_level") == "logical"
    assert server.query("SHOW data_checksums") == "on"  # pgfixture runs initdb --data-checksums
    assert facts["data_checksums"] is True
    assert facts["system_identifier"] == server.query(
        "SELECT system_identifier FROM pg_control_system()"
    )
    assert facts["server_version_num"] == int(server.query("SHOW server_version_num"))
    assert facts["in_recovery"] is False
    assert facts["role_can_replicate"] is True


def test_probe_with_a_shared_context(server):
    with pgbackup.Context() as context:
        first = pgbackup.probe(server.conninfo, context=context)
        second = pgbackup.probe(server.conninfo, context=context)
    assert first["system_identifier"] == second["system_identifier"]


def test_probe_of_a_closed_port_is_a_connection_error():
    with pytest.raises(pgbackup.Error) as raised:
        pgbackup.probe("host=127.0.0.1 port=1 connect_timeout=10")
    assert raised.value.code == -7
    assert raised.value.name == "PGB_ECONNECTION"
    assert "port=1" in raised.value.message
    assert raised.value.detail  # libpq's own explanation
