package pgbackup

/*
#include <stdlib.h>
#include <pgbackup/ctx.h>
#include <pgbackup/drill.h>
#include <pgbackup/expire.h>
#include <pgbackup/policy.h>
#include <pgbackup/runbook.h>
#include <pgbackup/status.h>
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// Status levels, as Nagios plugins exit (pgb_health_level).
const (
	HealthOK       = int(C.PGB_HEALTH_OK)
	HealthWarning  = int(C.PGB_HEALTH_WARNING)
	HealthCritical = int(C.PGB_HEALTH_CRITICAL)
	HealthUnknown  = int(C.PGB_HEALTH_UNKNOWN)
)

// Finding is one of the advisor's findings.
type Finding struct {
	Severity string `json:"severity"` // "error" or "warning"
	Code     string `json:"code"`     // such as "rpo-not-met", "no-globals-backup"
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// Policy returns the cluster's recovery goals and policy as the library's
// JSON document (policy.h). When opts sets settings ("rpo", "rto",
// "keep-full", "keep-age", "pitr-window", "drill-every", "physical-every",
// "logical-every", "globals-every", "require"), they are changed and stored
// first. opts may be nil.
func (r *Repo) Policy(opts *Options) (json.RawMessage, error) {
	var document string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var policy *C.pgb_policy
		defer func() { C.pgb_policy_free(policy) }()
		if err := r.storage.ctx.check(C.pgb_policy_load(&policy, repo)); err != nil {
			return err
		}
		if opts != nil {
			if err := r.storage.ctx.check(C.pgb_policy_update(policy, o)); err != nil {
				return err
			}
			if err := r.storage.ctx.check(C.pgb_policy_save(policy)); err != nil {
				return err
			}
		}
		document = C.GoString(C.pgb_policy_to_json(policy))
		return nil
	})
	return json.RawMessage(document), err
}

// DrillReport is a restore drill's report (drill.h).
type DrillReport struct {
	ID         string          `json:"id"`
	Backup     *string         `json:"backup"`
	Passed     bool            `json:"passed"`
	RTOSeconds *float64        `json:"rto_seconds"` // nil when the server never reached the target
	RTOMet     *bool           `json:"rto_met"`     // nil without an RTO goal
	Reached    json.RawMessage `json:"reached"`
	Probes     []DrillProbe    `json:"probes"`
	Error      *string         `json:"error"`
	JSON       json.RawMessage `json:"-"` // the report as the library wrote it
}

// DrillProbe is the outcome of one probe.
type DrillProbe struct {
	SQL      string  `json:"sql"`
	Expected *string `json:"expected"`
	Got      *string `json:"got"`
	Passed   bool    `json:"passed"`
	Error    *string `json:"error"`
}

// Drill restores a backup into a scratch cluster, starts it, runs the probes
// ("probe" options: "SQL" or "SQL => EXPECTED") and checks, records the
// measured RTO and stores the report. A failed drill is a report with Passed
// false, not an error; errors are bad options or a report that cannot be
// stored.
func (r *Repo) Drill(opts *Options) (*DrillReport, error) {
	var document string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var drill *C.pgb_drill
		defer func() { C.pgb_drill_free(drill) }()
		if err := r.storage.ctx.check(C.pgb_drill_new(&drill, repo, o)); err != nil {
			return err
		}
		if err := r.storage.ctx.check(C.pgb_drill_run(drill)); err != nil {
			return err
		}
		document = C.GoString(C.pgb_drill_to_json(drill))
		return nil
	})
	if err != nil {
		return nil, err
	}
	report := &DrillReport{JSON: json.RawMessage(document)}
	if err := json.Unmarshal([]byte(document), report); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode the drill report: %w", err)
	}
	return report, nil
}

// Status collects the cluster's status and renders it as format: "json",
// "text", "prometheus" or "nagios". It returns the level (HealthOK to
// HealthUnknown) and the text. opts may set "pg" to ask the server as well.
func (r *Repo) Status(opts *Options, format string) (int, string, error) {
	cFormat, err := cString(format, "format")
	if err != nil {
		return HealthUnknown, "", err
	}
	defer freeC(cFormat)
	level, text := HealthUnknown, ""
	err = r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var status *C.pgb_cluster_status
		defer func() { C.pgb_cluster_status_free(status) }()
		if err := r.storage.ctx.check(C.pgb_cluster_status_new(&status, repo, o)); err != nil {
			return err
		}
		rendered := C.pgb_cluster_status_render(status, cFormat)
		if rendered == nil {
			return newError(CodeInvalid, "status format "+format+" is not json, text, prometheus or nagios", "")
		}
		level, text = int(C.pgb_cluster_status_level(status)), C.GoString(rendered)
		return nil
	})
	return level, text, err
}

// Check returns the advisor's findings, errors first.
func (r *Repo) Check(opts *Options) ([]Finding, error) {
	_, text, err := r.Status(opts, "json")
	if err != nil {
		return nil, err
	}
	var document struct {
		Findings []Finding `json:"findings"`
	}
	if err := json.Unmarshal([]byte(text), &document); err != nil {
		return nil, fmt.Errorf("pgbackup: cannot decode the status: %w", err)
	}
	return document.Findings, nil
}

// Runbook generates the cluster's recovery runbook (Markdown) and records
// that it was generated. opts says how its commands name the repository
// ("config", or "repo" with "identity" or "passphrase-file"); it may be nil.
func (r *Repo) Runbook(opts *Options) (string, error) {
	var markdown string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var text *C.char
		if err := r.storage.ctx.check(C.pgb_runbook_generate(repo, o, &text)); err != nil {
			return err
		}
		markdown = C.GoString(text)
		C.pgb_free(unsafe.Pointer(text))
		return nil
	})
	return markdown, err
}

// Expire applies the policy's retention ("dry-run" decides and removes
// nothing; "as-of" judges ages as of an ISO 8601 time) and returns the
// report (expire.h).
func (r *Repo) Expire(opts *Options) (json.RawMessage, error) {
	var report string
	err := r.withOptions(opts, func(repo *C.pgb_repo, o *C.pgb_options) error {
		var text *C.char
		if err := r.storage.ctx.check(C.pgb_expire(repo, o, &text)); err != nil {
			return err
		}
		report = C.GoString(text)
		C.pgb_free(unsafe.Pointer(text))
		return nil
	})
	return json.RawMessage(report), err
}
