package pgbackup

// #include <pgbackup/error.h>
import "C"

// Status codes of include/pgbackup/error.h; values never change.
const (
	CodeOK          = int(C.PGB_OK)
	CodeError       = int(C.PGB_ERROR)
	CodeNoMemory    = int(C.PGB_ENOMEM)
	CodeInvalid     = int(C.PGB_EINVALID)
	CodeNotFound    = int(C.PGB_ENOTFOUND)
	CodeExists      = int(C.PGB_EEXISTS)
	CodeCorrupt     = int(C.PGB_ECORRUPT)
	CodeConnection  = int(C.PGB_ECONNECTION)
	CodeIO          = int(C.PGB_EIO)
	CodeCanceled    = int(C.PGB_ECANCELED)
	CodeUnsupported = int(C.PGB_EUNSUPPORTED)
	CodeRefused     = int(C.PGB_EREFUSED)
	CodeLocked      = int(C.PGB_ELOCKED)
	CodeAuth        = int(C.PGB_EAUTH)
	CodeIterOver    = int(C.PGB_ITEROVER)
)

// Error is a libpgbackup failure.
type Error struct {
	Code    int    // a negative Code* value
	Name    string // symbolic name, such as "PGB_ECONNECTION"
	Message string // what failed and on which object
	Detail  string // a server's message or a hint; may be empty

	cause error // what made it happen on the Go side, such as context.Canceled
}

func (e *Error) Error() string {
	return e.Message
}

// Unwrap gives the Go error behind a failure, if any: a job stopped by its
// context.Context wraps ctx.Err(), so errors.Is(err, context.Canceled) holds
// besides Code == CodeCanceled.
func (e *Error) Unwrap() error {
	return e.cause
}

// StatusName gives the symbolic name of a status code, such as "PGB_ENOTFOUND".
func StatusName(code int) string {
	return C.GoString(C.pgb_status_name(C.int(code)))
}

func newError(code int, message, detail string) *Error {
	return &Error{Code: code, Name: StatusName(code), Message: message, Detail: detail}
}
