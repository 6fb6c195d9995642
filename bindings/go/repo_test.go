package pgbackup_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	pgbackup "github.com/libpgbackup/pgbackup-go"
)

// privateHome points HOME at a temporary folder: the default writer key file
// goes under $HOME/.config/pgbackup.
func privateHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	return home
}

// options makes an option set from pairs; a key may repeat for list options.
func options(t *testing.T, pairs ...string) *pgbackup.Options {
	t.Helper()
	opts := newOptions(t)
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := opts.Set(pairs[i], pairs[i+1]); err != nil {
			t.Fatalf("Set(%q): %v", pairs[i], err)
		}
	}
	return opts
}

func secretFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustInit(t *testing.T, s *pgbackup.Storage, opts *pgbackup.Options) *pgbackup.Repo {
	t.Helper()
	r, err := pgbackup.InitRepo(s, opts)
	if err != nil {
		t.Fatalf("InitRepo: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func mustOpen(t *testing.T, s *pgbackup.Storage, opts *pgbackup.Options) *pgbackup.Repo {
	t.Helper()
	r, err := pgbackup.OpenRepo(s, opts)
	if err != nil {
		t.Fatalf("OpenRepo: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestRepoInitOnAnEmptyFolderThenOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	made := mustInit(t, openStorage(t, newContext(t), dir), nil)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(made.ID()) {
		t.Errorf("ID() = %q, want 32 hex digits", made.ID())
	}
	if made.Encryption() != "none" || !made.CanRead() {
		t.Errorf("Encryption() = %q, CanRead() = %v; want none, true", made.Encryption(), made.CanRead())
	}
	var marker map[string]any
	text, err := os.ReadFile(filepath.Join(dir, "pgbackup.repo"))
	if err != nil || json.Unmarshal(text, &marker) != nil || marker["repository_id"] != made.ID() {
		t.Errorf("pgbackup.repo does not record id %s: %s (%v)", made.ID(), text, err)
	}
	opened := mustOpen(t, openStorage(t, newContext(t), dir), nil)
	if opened.ID() != made.ID() {
		t.Errorf("opened id %s, made %s", opened.ID(), made.ID())
	}
	backups, err := opened.List()
	if err != nil || backups == nil || len(backups) != 0 {
		t.Errorf("List() = %#v, %v; want an empty slice", backups, err)
	}
}

func TestRepoInitRefusesAFolderThatHoldsSomethingElse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a repository"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := pgbackup.InitRepo(openStorage(t, newContext(t), dir), nil)
	e := asError(t, err, -11)
	if e.Name != "PGB_EREFUSED" || !strings.Contains(e.Message, "not empty") {
		t.Errorf("got %s %q, want PGB_EREFUSED saying not empty", e.Name, e.Message)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %d entries after a refused init, want only notes.txt", len(entries))
	}
}

func TestRepoOpenWhereThereIsNoRepository(t *testing.T) {
	_, err := pgbackup.OpenRepo(openStorage(t, newContext(t), t.TempDir()), nil)
	asError(t, err, pgbackup.CodeNotFound)
}

func TestPassphraseRepoOpensOnlyWithItsPassphrase(t *testing.T) {
	dir := t.TempDir()
	right := secretFile(t, dir, "pass", "correct horse battery staple\n")
	wrong := secretFile(t, dir, "wrong", "Tr0ub4dor&3\n")
	s := openStorage(t, newContext(t), filepath.Join(dir, "repo"))
	made := mustInit(t, s, options(t, "passphrase-file", right))
	if made.Encryption() != "passphrase" {
		t.Errorf("Encryption() = %q, want passphrase", made.Encryption())
	}
	_, err := pgbackup.OpenRepo(s, options(t, "passphrase-file", wrong))
	if e := asError(t, err, -13); e.Name != "PGB_EAUTH" || !strings.Contains(e.Message, "wrong key") {
		t.Errorf("got %s %q, want PGB_EAUTH saying wrong key", e.Name, e.Message)
	}
	_, err = pgbackup.OpenRepo(s, nil)
	asError(t, err, pgbackup.CodeAuth)
	opened := mustOpen(t, s, options(t, "passphrase-file", right))
	if opened.ID() != made.ID() || opened.Encryption() != "passphrase" || !opened.CanRead() {
		t.Errorf("opened %s %q CanRead=%v, want %s passphrase true", opened.ID(), opened.Encryption(),
			opened.CanRead(), made.ID())
	}
}

func TestRepoTakesOptionsOfAnotherContext(t *testing.T) {
	dir := t.TempDir()
	opts := options(t, "passphrase-file", secretFile(t, dir, "pass", "a passphrase\n")) // its own context
	s := openStorage(t, newContext(t), filepath.Join(dir, "repo"))
	mustInit(t, s, opts)
	if r := mustOpen(t, s, opts); r.Encryption() != "passphrase" {
		t.Errorf("Encryption() = %q", r.Encryption())
	}
	opts.Close()
	_, err := pgbackup.OpenRepo(s, opts)
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "closed") {
		t.Errorf("message %q should say the option set is closed", e.Message)
	}
}

func TestKeygenWritesAKeyPairAndRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "backup-key")
	if err := pgbackup.Keygen(path); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v (%v), want 0600", info.Mode().Perm(), err)
	}
	private, _ := os.ReadFile(path)
	public, _ := os.ReadFile(path + ".pub")
	if !strings.Contains(string(private), "BEGIN PRIVATE KEY") || !strings.Contains(string(public), "BEGIN PUBLIC KEY") {
		t.Errorf("key files are not PEM keys:\n%s\n%s", private, public)
	}
	e := asError(t, pgbackup.Keygen(path), -5)
	if e.Name != "PGB_EEXISTS" || !strings.Contains(e.Message, path) {
		t.Errorf("got %s %q, want PGB_EEXISTS naming %s", e.Name, e.Message, path)
	}
	if again, _ := os.ReadFile(path); string(again) != string(private) {
		t.Error("a refused keygen changed the private key")
	}
}

func TestRecipientsRepoWriterCannotReadIdentityCan(t *testing.T) {
	home := privateHome(t)
	dir := t.TempDir()
	key, other := filepath.Join(dir, "restore-key"), filepath.Join(dir, "other-key")
	for _, path := range []string{key, other} {
		if err := pgbackup.Keygen(path); err != nil {
			t.Fatal(err)
		}
	}
	writerKey := filepath.Join(dir, "writer.key")
	s := openStorage(t, newContext(t), filepath.Join(dir, "repo"))
	made := mustInit(t, s, options(t, "recipient", key+".pub", "writer-key", writerKey))
	if made.Encryption() != "recipients" {
		t.Errorf("Encryption() = %q, want recipients", made.Encryption())
	}
	if info, err := os.Stat(writerKey); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("writer key file: %v %v, want mode 0600", info, err)
	}
	if writer := mustOpen(t, s, options(t, "writer-key", writerKey)); writer.CanRead() || writer.ID() != made.ID() {
		t.Errorf("writer: CanRead() = %v, id %s; want false, %s", writer.CanRead(), writer.ID(), made.ID())
	}
	if reader := mustOpen(t, s, options(t, "identity", key)); !reader.CanRead() {
		t.Error("reader with the identity: CanRead() = false")
	}
	_, err := pgbackup.OpenRepo(s, options(t, "identity", other))
	if e := asError(t, err, pgbackup.CodeAuth); !strings.Contains(e.Message, "wrong key") {
		t.Errorf("message %q should say wrong key", e.Message)
	}
	if _, err := os.Stat(filepath.Join(home, ".config")); !os.IsNotExist(err) {
		t.Error("the explicit writer key should not go under $HOME")
	}
}

func TestRecipientsRepoDefaultWriterKeyIsUnderHome(t *testing.T) {
	home := privateHome(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "restore-key")
	if err := pgbackup.Keygen(key); err != nil {
		t.Fatal(err)
	}
	s := openStorage(t, newContext(t), filepath.Join(dir, "repo"))
	made := mustInit(t, s, options(t, "recipient", key+".pub"))
	defaultKey := filepath.Join(home, ".config", "pgbackup", made.ID()+".writer-key")
	if _, err := os.Stat(defaultKey); err != nil {
		t.Fatalf("default writer key file: %v", err)
	}
	if writer := mustOpen(t, s, nil); writer.CanRead() {
		t.Error("a writer with the default writer key can read")
	}
	second := openStorage(t, newContext(t), filepath.Join(dir, "second"))
	_, err := pgbackup.InitRepo(second, options(t, "recipient", key+".pub", "writer-key", defaultKey))
	asError(t, err, pgbackup.CodeExists)
}

func TestSecondWriterIsLockedOutUntilTheFirstUnlocks(t *testing.T) {
	s := openStorage(t, newContext(t), t.TempDir())
	mustInit(t, s, nil).Close()
	first, second := mustOpen(t, s, nil), mustOpen(t, s, nil)
	if err := first.Lock(); err != nil {
		t.Fatal(err)
	}
	if err := first.Lock(); err != nil {
		t.Errorf("locking again through the same handle: %v", err)
	}
	e := asError(t, second.Lock(), -12)
	if e.Name != "PGB_ELOCKED" || !strings.Contains(e.Message, "locked by pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("got %s %q, want PGB_ELOCKED naming pid %d", e.Name, e.Message, os.Getpid())
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := second.Lock(); err != nil {
		t.Fatalf("Lock after the first unlocked: %v", err)
	}
	asError(t, first.Lock(), pgbackup.CodeLocked)
	second.Close() // closing releases the lock
	if err := first.Lock(); err != nil {
		t.Errorf("Lock after the holder closed: %v", err)
	}
}

func TestClosingTheStorageClosesItsRepositories(t *testing.T) {
	dir := t.TempDir()
	s, err := pgbackup.OpenStorage(newContext(t), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pgbackup.InitRepo(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Lock(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = r.List()
	if e := asError(t, err, pgbackup.CodeInvalid); !strings.Contains(e.Message, "closed") {
		t.Errorf("message %q should say closed", e.Message)
	}
	r.Close() // after its storage: must not free anything twice
	// Closing released the lock: a new writer gets it at once.
	if err := mustOpen(t, openStorage(t, newContext(t), dir), nil).Lock(); err != nil {
		t.Errorf("Lock after the storage closed: %v", err)
	}
}

func TestClosingTheContextClosesStorageAndRepository(t *testing.T) {
	ctx, err := pgbackup.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	s, err := pgbackup.OpenStorage(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pgbackup.InitRepo(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx.Close()
	asError(t, r.Lock(), pgbackup.CodeInvalid)
	r.Close()
	s.Close()
}

// A Repo keeps its Storage and Context alive; forgotten ones are freed by
// finalizers, repository first.
func TestRepositoryKeepsItsStorageAliveAndFinalizersFreeAll(t *testing.T) {
	dir := t.TempDir()
	r := func() *pgbackup.Repo {
		ctx, _ := pgbackup.NewContext()
		s, err := pgbackup.OpenStorage(ctx, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := pgbackup.InitRepo(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}()
	runtime.GC()
	runtime.GC()
	if err := r.Lock(); err != nil {
		t.Fatalf("Lock after collections: %v", err)
	}
	if _, err := r.List(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		ctx, _ := pgbackup.NewContext()
		s, _ := pgbackup.OpenStorage(ctx, dir, nil)
		pgbackup.OpenRepo(s, nil)
	}
	for i := 0; i < 4; i++ {
		runtime.GC() // repository, then storage, then context, one cycle each
	}
}

// Two goroutines each open repositories on one context with options of the
// other: the two mutexes must be taken in one order, or this deadlocks (and
// the test binary times out).
func TestCrosswiseContextsDoNotDeadlock(t *testing.T) {
	dir := t.TempDir()
	passphrase := secretFile(t, dir, "pass", "a passphrase\n")
	ctxA, ctxB := newContext(t), newContext(t)
	optsA, err := pgbackup.NewOptions(ctxA)
	if err != nil {
		t.Fatal(err)
	}
	optsB, err := pgbackup.NewOptions(ctxB)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []*pgbackup.Options{optsA, optsB} {
		if err := opts.Set("passphrase-file", passphrase); err != nil {
			t.Fatal(err)
		}
	}
	storageA := openStorage(t, ctxA, filepath.Join(dir, "a"))
	storageB := openStorage(t, ctxB, filepath.Join(dir, "b"))
	mustInit(t, storageA, optsB)
	mustInit(t, storageB, optsA)
	done := make(chan error, 2)
	for _, pair := range []struct {
		s    *pgbackup.Storage
		opts *pgbackup.Options
	}{{storageA, optsB}, {storageB, optsA}} {
		go func(s *pgbackup.Storage, opts *pgbackup.Options) {
			for i := 0; i < 6; i++ { // each open runs scrypt: the two overlap
				r, err := pgbackup.OpenRepo(s, opts)
				if err != nil {
					done <- err
					return
				}
				r.Close()
			}
			done <- nil
		}(pair.s, pair.opts)
	}
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
