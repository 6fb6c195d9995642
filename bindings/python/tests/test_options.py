import pytest

import pgbackup
from pgbackup import Error, Options, Source


@pytest.fixture
def options():
    with Options() as opts:
        yield opts


def test_option_names_lists_the_registry():
    names = pgbackup.option_names()
    assert {"compress", "jobs", "repo", "log-level", "recipient"} <= set(names)
    assert len(names) == len(set(names))


def test_defaults_come_from_the_registry(options):
    assert options.get("compress") == "zstd:3"
    assert options.get("repo") is None
    assert options.source("compress") == Source.DEFAULT


def test_set_value_is_read_back_as_explicit(options):
    options.set("compress", "lz4:5")
    assert options.get("compress") == "lz4:5"
    assert options.source("compress") == Source.EXPLICIT


def test_unknown_option_suggests_the_closest_name(options):
    with pytest.raises(Error) as raised:
        options.set("compres", "zstd")
    assert raised.value.code == -3
    assert raised.value.name == "PGB_EINVALID"
    assert "'compress'" in str(raised.value)
    assert str(raised.value) == raised.value.message


def test_bad_value_is_rejected_and_leaves_the_old_value(options):
    options.set("jobs", "4")
    with pytest.raises(Error) as raised:
        options.set("jobs", "0")
    assert raised.value.code == -3
    assert "jobs" in raised.value.message
    assert options.get("jobs") == "4"


def test_bad_compress_level_names_the_range(options):
    with pytest.raises(Error) as raised:
        options.set("compress", "zstd:99")
    assert raised.value.code == pgbackup.Status.EINVALID
    assert "1 to 22" in raised.value.message


def test_booleans_and_numbers_are_accepted_as_python_values(options):
    options.set("json", True)
    options.set("jobs", 8)
    assert options.get("json") == "true"
    assert options.get("jobs") == "8"


def test_set_beats_environment_whatever_the_order(options):
    options.set("compress", "gzip:6")
    options.load_env({"PGBACKUP_COMPRESS": "lz4", "PGBACKUP_JOBS": "3"})
    assert options.get("compress") == "gzip:6"
    assert options.source("compress") == Source.EXPLICIT
    assert options.get("jobs") == "3"
    assert options.source("jobs") == Source.ENVIRONMENT


def test_environment_beats_file(options, tmp_path):
    config = tmp_path / "pgbackup.conf"
    config.write_text("[global]\ncompress = gzip:1\ncluster = from-file\n")
    options.load_file(config)
    options.load_env({"PGBACKUP_COMPRESS": "none"})
    assert options.get("compress") == "none"
    assert options.get("cluster") == "from-file"
    assert options.source("cluster") == Source.FILE


def test_unknown_environment_variable_is_named_with_a_suggestion(options):
    with pytest.raises(Error) as raised:
        options.load_env({"PGBACKUP_COMPRES": "lz4"})
    assert raised.value.code == -3
    assert "PGBACKUP_COMPRES" in raised.value.message
    assert "'compress'" in raised.value.message


def test_process_environment_is_read_and_library_variable_passed_over(options, monkeypatch):
    monkeypatch.setenv("PGBACKUP_LIBRARY", "/not/an/option.so")
    monkeypatch.setenv("PGBACKUP_LOG_LEVEL", "debug")
    options.load_env()
    assert options.get("log-level") == "debug"


def test_file_error_names_file_and_line(options, tmp_path):
    config = tmp_path / "bad.conf"
    config.write_text("jobs = 2\njobs = many\n")
    with pytest.raises(Error) as raised:
        options.load_file(config)
    assert raised.value.code == -3
    assert f"{config}:2" in raised.value.message


def test_missing_file_is_not_found(options, tmp_path):
    with pytest.raises(Error) as raised:
        options.load_file(tmp_path / "absent.conf")
    assert raised.value.code == pgbackup.Status.ENOTFOUND


def test_unset_restores_the_default(options):
    options.set("cluster", "other")
    options.unset("cluster")
    assert options.get("cluster") == "main"
    assert options.source("cluster") == Source.DEFAULT


def test_list_option_keeps_every_value_in_order(options):
    options.set("recipient", "/keys/a.pub")
    options.set("recipient", "/keys/b.pub")
    assert options.get_all("recipient") == ["/keys/a.pub", "/keys/b.pub"]
    assert options.get("recipient") == "/keys/a.pub"


def test_none_is_refused_rather_than_stored_as_text(options):
    with pytest.raises(TypeError):
        options.set("cluster", None)
    assert options.get("cluster") == "main"


def test_nul_in_value_is_refused_before_reaching_c(options):
    with pytest.raises(ValueError):
        options.set("cluster", "a\0b")
    assert options.get("cluster") == "main"
