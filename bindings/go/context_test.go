package pgbackup_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

func TestClosingAContextClosesItsOptions(t *testing.T) {
	ctx, err := pgbackup.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	opts, err := pgbackup.NewOptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx.Close()
	_, err = opts.Get("jobs")
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "closed") {
		t.Errorf("message %q should say the context is closed", e.Message)
	}
	opts.Close() // after its context: must not free anything twice
	ctx.Close()
}

func TestForgottenHandlesAreFreedByFinalizers(t *testing.T) {
	for i := 0; i < 200; i++ {
		ctx, _ := pgbackup.NewContext()
		opts, _ := pgbackup.NewOptions(ctx)
		if err := opts.Set("jobs", "2"); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC() // the second cycle frees contexts whose options went in the first
}

// Goroutines sharing a Context each get their own call's error, never another's.
func TestSharedContextKeepsEachCallsError(t *testing.T) {
	opts := newOptions(t)
	var wg sync.WaitGroup
	wrong := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			key := fmt.Sprintf("no-such-option-%d", g)
			for i := 0; i < 200; i++ {
				var e *pgbackup.Error
				if err := opts.Set(key, "x"); !errors.As(err, &e) || !strings.Contains(e.Message, "'"+key+"'") {
					wrong <- fmt.Sprintf("Set(%q) gave %v", key, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(wrong)
	for message := range wrong {
		t.Error(message)
	}
}
