package pgbackup

// This file holds only the //export: a preamble here may declare but not
// define C functions, since cgo copies it into two C files.

// #include <stdint.h>
import "C"

import "runtime/cgo"

// pgbGoStorageListEach receives one key of pgb_storage_list for Storage.List:
// handle is the cgo.Handle of the *[]StorageObject being filled. It returns 0
// so that the listing goes on.
//
//export pgbGoStorageListEach
func pgbGoStorageListEach(key *C.char, size C.uint64_t, handle C.uintptr_t) C.int {
	objects := cgo.Handle(handle).Value().(*[]StorageObject)
	*objects = append(*objects, StorageObject{Key: C.GoString(key), Size: int64(size)})
	return 0
}
