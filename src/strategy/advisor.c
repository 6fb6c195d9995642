#include "strategy/advisor.h"

#include <stdio.h>
#include <string.h>

#include "core/duration.h"

static void add(json_t *findings, const char *severity, const char *code, const char *message, const char *fix)
{
    json_array_append_new(findings, json_pack("{s:s, s:s, s:s, s:s}", "severity", severity, "code", code, "message",
                                              message, "fix", fix));
}

int64_t pgb_advisor_recovery_point_age(const struct pgb_strategy_facts *f)
{
    json_t *physical = pgb_strategy_newest_backup(f, "physical");
    int64_t newest = -1;
    for (size_t i = 0; i < json_array_size(f->backups); i++) {
        int64_t age = pgb_strategy_age(f, json_array_get(f->backups, i), "stop_time");
        if (age >= 0 && (newest < 0 || age < newest))
            newest = age;
    }
    if (physical && f->newest_archived_at > 0) {
        int64_t archive_age = f->now > f->newest_archived_at ? f->now - f->newest_archived_at : 0;
        if (newest < 0 || archive_age < newest)
            newest = archive_age;
    }
    return newest;
}

static void judge_goals(const struct pgb_strategy_facts *f, json_t *findings)
{
    char text[512], goal[32], age_text[32];
    int64_t rpo = pgb_policy_get(f->policy, "rpo"), rto = pgb_policy_get(f->policy, "rto");
    int64_t age = pgb_advisor_recovery_point_age(f);
    if (rpo >= 0 && age > rpo) {
        snprintf(text, sizeof(text), "the newest point cluster %s can be recovered to is %s old, over its RPO of %s",
                 f->cluster, pgb_duration_format(age, age_text), pgb_duration_format(rpo, goal));
        add(findings, "error", "rpo-not-met", text,
            "back up more often, archive WAL (archive_command = 'pgbackup wal-push %p') or stream it "
            "(pgbackup wal-receive)");
    }
    json_t *drill = pgb_strategy_last_drill(f);
    json_t *measured = json_object_get(drill, "rto_seconds");
    if (rto >= 0 && json_is_number(measured) && json_number_value(measured) > (double)rto) {
        snprintf(text, sizeof(text), "the last drill (%s) took %.0f s to recover, over the RTO of %s",
                 json_string_value(json_object_get(drill, "id")), json_number_value(measured),
                 pgb_duration_format(rto, goal));
        add(findings, "error", "rto-not-met", text,
            "restore faster (--jobs, a closer repository, more frequent full backups for less WAL to replay) or "
            "revise the goal");
    }
    if (drill && !json_is_true(json_object_get(drill, "passed"))) {
        snprintf(text, sizeof(text), "the last drill (%s) failed: %s", json_string_value(json_object_get(drill, "id")),
                 json_string_value(json_object_get(drill, "error")) ?: "see its report");
        add(findings, "error", "drill-failed", text, "fix what the drill report names, then run pgbackup drill again");
    }
    int64_t every = pgb_policy_get(f->policy, "drill-every");
    int64_t drill_age = drill ? pgb_strategy_age(f, drill, "finished_at") : -1;
    if (every >= 0 && drill && drill_age > every) {
        snprintf(text, sizeof(text), "the last drill is %s old; the policy asks for one every %s",
                 pgb_duration_format(drill_age, age_text), pgb_duration_format(every, goal));
        add(findings, "warning", "drill-overdue", text, "run pgbackup drill (the monitoring agent can run it on "
                                                        "the policy's cadence)");
    }
    static const char *const kinds[] = {"physical", "logical", "globals"};
    for (size_t i = 0; i < 3; i++) {
        char setting[32];
        snprintf(setting, sizeof(setting), "%s-every", kinds[i]);
        int64_t cadence = pgb_policy_get(f->policy, setting);
        json_t *newest = pgb_strategy_newest_backup(f, kinds[i]);
        int64_t backup_age = newest ? pgb_strategy_age(f, newest, "stop_time") : -1;
        if (cadence >= 0 && (!newest || backup_age > cadence)) {
            snprintf(text, sizeof(text), "the newest %s backup is %s; the policy asks for one every %s", kinds[i],
                     newest ? pgb_duration_format(backup_age, age_text) : "missing", pgb_duration_format(cadence, goal));
            add(findings, "warning", "backup-overdue", text, "schedule pgbackup backup for this kind at the cadence");
        }
    }
}

static void judge_mistakes(const struct pgb_strategy_facts *f, json_t *findings)
{
    char text[512];
    json_t *physical = pgb_strategy_newest_backup(f, "physical");
    json_t *logical = pgb_strategy_newest_backup(f, "logical");
    json_t *globals = pgb_strategy_newest_backup(f, "globals");
    int requires_pitr = pgb_policy_requires(f->policy, "pitr") || pgb_policy_requires(f->policy, "full-cluster");
    int requires_logical = pgb_policy_requires(f->policy, "selective") ||
                           pgb_policy_requires(f->policy, "full-logical");
    int standby = f->standbys > 0 || json_is_true(json_object_get(f->server, "in_recovery"));
    if (json_array_size(f->backups) == 0) {
        snprintf(text, sizeof(text), "cluster %s has no backup in this repository%s", f->cluster,
                 standby ? " while it has a standby: a replica copies mistakes and corruption at once, it is no "
                           "backup"
                         : "");
        add(findings, "error", standby ? "replica-as-backup" : "no-backup", text,
            "take a physical backup now (pgbackup backup --type physical) and schedule them");
    }
    if (!globals) {
        snprintf(text, sizeof(text), "cluster %s has no globals backup: roles, memberships and tablespaces are not in "
                 "pg_dump's output", f->cluster);
        add(findings, pgb_policy_requires(f->policy, "globals") ? "error" : "warning", "no-globals-backup", text,
            "pgbackup backup --type globals");
    }
    int tested = 0;
    for (size_t i = 0; i < json_array_size(f->drills); i++)
        tested |= json_is_true(json_object_get(json_array_get(f->drills, i), "passed"));
    if (json_array_size(f->backups) > 0 && !tested)
        add(findings, "warning", "restores-never-tested", "no drill has restored a backup of this cluster and passed: "
            "a backup is only real once it has been restored", "pgbackup drill --probe 'SELECT ...'");
    if (f->local_repository && f->server && f->server_is_local)
        add(findings, "warning", "backups-on-database-host", "the repository is a local path on the database host: "
            "losing the host loses the backups with it", "use a repository on another host (s3:// or sftp://)");
    if (requires_pitr && !physical)
        add(findings, "error", "logical-only-pitr-required", "the policy requires point-in-time or full-cluster "
            "restores, and there is no physical backup", "pgbackup backup --type physical, and archive WAL");
    if (requires_logical && !logical)
        add(findings, "error", "physical-only-selective-required", "the policy requires selective or logical "
            "restores, and there is no logical backup", "pgbackup backup --type logical");
    if (f->encryption && strcmp(f->encryption, "none") == 0)
        add(findings, "warning", "no-encryption", "the repository is not encrypted: anyone who can read it reads "
            "every row and password hash", "create an encrypted repository (repo-init --recipient KEY.pub or "
            "--passphrase-file FILE) and back up into it");
    const char *archive_mode = json_string_value(json_object_get(f->server, "archive_mode"));
    json_t *archiver = json_object_get(f->server, "archiver");
    if (archive_mode && strcmp(archive_mode, "off") == 0)
        add(findings, requires_pitr ? "error" : "warning", "archiving-off", "archive_mode is off: no WAL is "
            "archived, so nothing after the newest backup can be recovered",
            "archive_mode = on and archive_command = 'pgbackup --config FILE wal-push %p' (restart needed)");
    else if (json_is_true(json_object_get(archiver, "failing")))
        add(findings, "error", "archiving-failing", "archive_command is failing (pg_stat_archiver): WAL piles up in "
            "pg_wal and recent changes are not recoverable", "read the server log for archive_command's error");
    else if (!f->server && requires_pitr && f->newest_segment[0] == '\0')
        add(findings, "error", "no-wal-archive", "the policy requires point-in-time recovery and the repository "
            "holds no archived WAL", "archive_command = 'pgbackup --config FILE wal-push %p'");
    if (f->runbook_at == 0)
        add(findings, "warning", "no-runbook", "no recovery runbook was generated for this cluster",
            "pgbackup runbook --output RUNBOOK.md, and keep it where the on-call engineer finds it");
    else if (f->policy_updated_at > f->runbook_at)
        add(findings, "warning", "no-runbook", "the policy changed after the runbook was generated: the runbook "
            "no longer says what the goals and retention are", "pgbackup runbook --output RUNBOOK.md");
}

json_t *pgb_advisor_findings(const struct pgb_strategy_facts *f)
{
    json_t *all = json_array(), *sorted = json_array();
    judge_goals(f, all);
    judge_mistakes(f, all);
    size_t i;
    json_t *finding;
    json_array_foreach(all, i, finding) if (strcmp(json_string_value(json_object_get(finding, "severity")), "error") ==
                                            0) json_array_append(sorted, finding);
    json_array_foreach(all, i, finding) if (strcmp(json_string_value(json_object_get(finding, "severity")), "error") !=
                                            0) json_array_append(sorted, finding);
    json_decref(all);
    return sorted;
}
