import pathlib
import re

import pgbackup

VERSION_HEADER = pathlib.Path(__file__).resolve().parents[3] / "include" / "pgbackup" / "version.h"


def header_define(name):
    match = re.search(rf"#define {name} (\S+)", VERSION_HEADER.read_text())
    assert match, f"{name} not found in {VERSION_HEADER}"
    return match.group(1)


def test_version_string_matches_header():
    assert pgbackup.version() == header_define("PGB_VERSION_STRING").strip('"')


def test_version_number_matches_header():
    assert pgbackup.version_number() == int(header_define("PGB_VERSION_NUMBER"))
