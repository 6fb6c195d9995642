package pgbackup

// The one place that says how cgo finds libpgbackup: directives apply to the
// whole package.

/*
#cgo pkg-config: libpgbackup
#include <stdlib.h>
*/
import "C"

import (
	"strings"
	"unsafe"
)

// cString copies s into C memory; free it with freeC. C would silently stop at
// an embedded NUL and see another string, so such text is refused.
func cString(s, what string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, newError(CodeInvalid, what+" contains a NUL byte", "")
	}
	return C.CString(s), nil
}

func freeC(p *C.char) {
	C.free(unsafe.Pointer(p))
}
