package pgbackup

// #include <pgbackup/version.h>
import "C"

// Version is the running library's version as "MAJOR.MINOR.PATCH"; it may be
// newer than the headers the binding was built with.
func Version() string {
	return C.GoString(C.pgb_version_string())
}

// VersionNumber is the running library's version as
// MAJOR*10000 + MINOR*100 + PATCH.
func VersionNumber() int {
	return int(C.pgb_version())
}
