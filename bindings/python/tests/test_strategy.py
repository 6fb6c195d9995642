"""Policy, drills, status, the advisor, the runbook and retention through the binding, against a real server."""

import os

import pytest

from pgbackup import Error, Repo, Storage, strategy



@pytest.fixture(scope="module")
def strategy_repo(backup_server, tmp_path_factory):
    """A plain repository with two full backups of the server."""
    folder = tmp_path_factory.mktemp("strategy-repo")
    backup_server.query("DROP TABLE IF EXISTS drilled; CREATE TABLE drilled AS SELECT g AS id FROM generate_series(1, 42) g")
    with Storage(str(folder)) as storage, Repo.init(storage) as repo:
        for _ in range(2):
            repo.backup({"pg": backup_server.conninfo, "checkpoint": "fast"})
    return folder


def test_policy_is_stored_and_bad_values_are_named(strategy_repo):
    with Storage(str(strategy_repo)) as storage, Repo.open(storage) as repo:
        assert strategy.policy(repo)["rpo_seconds"] is None
        stored = strategy.policy(repo, {"rpo": "15min", "rto": "1h", "require": ["pitr", "globals"]})
        assert stored["rpo_seconds"] == 900 and stored["rto_seconds"] == 3600
        assert stored["require"] == ["pitr", "globals"]
        assert strategy.policy(repo)["rpo_seconds"] == 900
        with pytest.raises(Error) as raised:
            strategy.policy(repo, {"rpo": "soon"})
        assert raised.value.code == -3 and "rpo 'soon'" in raised.value.message
        strategy.policy(repo, {"rpo": "none", "require": "none"})


def test_a_drill_with_a_passing_probe_measures_the_rto_and_a_wrong_one_fails(strategy_repo, tmp_path):
    with Storage(str(strategy_repo)) as storage, Repo.open(storage) as repo:
        report = strategy.drill(repo, {"probe": ["SELECT count(*) FROM drilled => 42"], "scratch-dir": str(tmp_path)})
        assert report["passed"] is True and report["rto_seconds"] > 0
        assert report["probes"][0]["got"] == "42"
        failed = strategy.drill(repo, {"probe": ["SELECT count(*) FROM drilled => 41"], "scratch-dir": str(tmp_path)})
        assert failed["passed"] is False and failed["probes"][0]["error"] == "expected 41, got 42"
        assert os.listdir(tmp_path) == []


def test_status_check_and_runbook(strategy_repo):
    with Storage(str(strategy_repo)) as storage, Repo.open(storage) as repo:
        level, doc = strategy.status(repo)
        assert level == strategy.CRITICAL  # the last drill failed
        assert doc["backups"]["physical"]["count"] == 2
        codes = {f["code"] for f in strategy.check(repo)}
        assert {"drill-failed", "no-encryption", "no-runbook"} <= codes
        level, text = strategy.status(repo, format="nagios")
        assert text.startswith("PGBACKUP CRITICAL - cluster main:")
        metrics = strategy.status(repo, format="prometheus")[1]
        assert 'pgbackup_backups{cluster="main",kind="physical"} 2' in metrics
        markdown = strategy.runbook(repo, {"repo": str(strategy_repo)})
        assert markdown.startswith("# Recovery runbook: cluster main")
        assert doc["backups"]["physical"]["newest_id"] in markdown
        assert "no-runbook" not in {f["code"] for f in strategy.check(repo)}
        with pytest.raises(ValueError):
            strategy.status(repo, format="yaml")


def test_expire_keeps_what_the_policy_says(strategy_repo):
    with Storage(str(strategy_repo)) as storage, Repo.open(storage) as repo:
        ids = [b["id"] for b in repo.list() if b["type"] == "physical"]
        strategy.policy(repo, {"keep-full": "1"})
        dry = strategy.expire(repo, {"dry-run": True})
        assert [b["id"] for b in dry["backups"] if not b["keep"]] == ids[:-1]
        assert [b["id"] for b in repo.list()] == ids
        done = strategy.expire(repo)
        assert not done["dry_run"]
        assert [b["id"] for b in repo.list()] == ids[-1:]
        strategy.policy(repo, {"keep-full": "none"})
