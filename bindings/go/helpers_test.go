package pgbackup_test

import (
	"errors"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func newContext(t *testing.T) *pgbackup.Context {
	t.Helper()
	ctx, err := pgbackup.NewContext()
	if err != nil {
		t.Fatalf("NewContext: %v", err)
	}
	t.Cleanup(ctx.Close)
	return ctx
}

func newOptions(t *testing.T) *pgbackup.Options {
	t.Helper()
	opts, err := pgbackup.NewOptions(newContext(t))
	if err != nil {
		t.Fatalf("NewOptions: %v", err)
	}
	t.Cleanup(opts.Close)
	return opts
}

// asError requires err to be an *Error with the given code.
func asError(t *testing.T, err error, code int) *pgbackup.Error {
	t.Helper()
	var e *pgbackup.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *pgbackup.Error with code %d, got %v", code, err)
	}
	if e.Code != code {
		t.Fatalf("want code %d, got %d (%s: %s)", code, e.Code, e.Name, e.Message)
	}
	return e
}

func mustGet(t *testing.T, opts *pgbackup.Options, key string) string {
	t.Helper()
	value, err := opts.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return value
}

func mustSource(t *testing.T, opts *pgbackup.Options, key string) pgbackup.Source {
	t.Helper()
	source, err := opts.Source(key)
	if err != nil {
		t.Fatalf("Source(%q): %v", key, err)
	}
	return source
}
