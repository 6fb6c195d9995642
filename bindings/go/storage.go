package pgbackup

/*
#include <stdint.h>
#include <stdlib.h>
#include <pgbackup/ctx.h>
#include <pgbackup/storage.h>

// Defined in storage_list.go (//export); takes the cgo.Handle of a Go slice.
extern int pgbGoStorageListEach(char *key, uint64_t size, uintptr_t handle);

// The pgb_storage_list_fn that hands each key to Go. The handle travels as an
// integer in the payload: cgo.Handle is not a pointer.
static int pgb_go_storage_list_each(const char *key, uint64_t size, void *payload)
{
	return pgbGoStorageListEach((char *)key, size, (uintptr_t)payload);
}

static int pgb_go_storage_list(pgb_storage *storage, const char *prefix, uintptr_t handle)
{
	return pgb_storage_list(storage, prefix, pgb_go_storage_list_each, (void *)handle);
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"sort"
	"unsafe"
)

// Storage is a pgb_storage: a flat space of objects named by keys, where
// repositories live. Keys are relative paths of "/"-separated names, none
// empty, "." or "..", and none starting with "."; a bad key is an *Error with
// CodeInvalid.
//
// A Storage reports its errors to, and serialises its calls through, the
// Context it was opened from. Repositories opened on it keep it alive; closing
// it closes them first, and closing its Context closes it.
type Storage struct {
	ctx   *Context
	ptr   *C.pgb_storage
	name  string
	repos *children
}

// children are the C handles made from one handle, freed before it. Only C
// pointers are kept, so they do not keep Go wrappers (and their finalizers)
// alive.
type children struct {
	frees map[unsafe.Pointer]func()
}

// freeAll frees every child; the set is then empty for good.
func (c *children) freeAll() {
	for _, free := range c.frees {
		free()
	}
	c.frees = nil
}

// release frees one child, unless freeAll freed it already.
func (c *children) release(handle unsafe.Pointer) {
	if free, ok := c.frees[handle]; ok {
		delete(c.frees, handle)
		free()
	}
}

// StorageObject is one object of a listing.
type StorageObject struct {
	Key  string
	Size int64
}

// OpenStorage opens the storage at url: a path or file:///path (the folder is
// made, mode 0700, by the first write), s3://bucket/prefix or
// sftp://user@host[:port]/path. opts holds backend options ("s3-endpoint",
// "s3-uri-style", "sftp-key", "sftp-known-hosts", "storage-timeout"), or is
// nil; S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// or a credentials file. A scheme this build does not know is an *Error with
// CodeUnsupported; missing S3 credentials or an unknown SFTP host key,
// CodeAuth. Close the storage when done; closing ctx closes it too.
func OpenStorage(ctx *Context, url string, opts *Options) (*Storage, error) {
	if ctx == nil {
		return nil, newError(CodeInvalid, "OpenStorage: the context is nil", "")
	}
	cURL, err := cString(url, "storage URL")
	if err != nil {
		return nil, err
	}
	defer freeC(cURL)
	s := &Storage{ctx: ctx, repos: &children{frees: map[unsafe.Pointer]func(){}}}
	err = ctx.withOptions(opts, func(c *C.pgb_ctx, o *C.pgb_options) error {
		var ptr *C.pgb_storage
		if err := ctx.check(C.pgb_storage_open(&ptr, c, cURL, o)); err != nil {
			return err
		}
		s.ptr = ptr
		s.name = C.GoString(C.pgb_storage_name(ptr))
		repos := s.repos
		ctx.adopt(unsafe.Pointer(ptr), func() {
			repos.freeAll() // C requires the repositories closed before their storage
			C.pgb_storage_free(ptr)
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(s, (*Storage).Close)
	return s, nil
}

// Close closes the repositories opened on the storage, then frees it. Calling
// it again does nothing.
func (s *Storage) Close() {
	s.ctx.mu.Lock()
	defer s.ctx.mu.Unlock()
	if s.ptr == nil {
		return
	}
	s.ctx.release(unsafe.Pointer(s.ptr))
	s.ptr = nil
	runtime.SetFinalizer(s, nil)
}

// Name is how messages name the storage: its URL.
func (s *Storage) Name() string {
	return s.name
}

// with runs fn under the context's mutex once it knows the storage is open.
func (s *Storage) with(fn func(storage *C.pgb_storage) error) error {
	return s.ctx.with(func(*C.pgb_ctx) error {
		if s.ptr == nil {
			return newError(CodeInvalid, "the storage is closed", "")
		}
		return fn(s.ptr)
	})
}

// withOptions is with, also passing opts's handle (see Context.withOptions).
func (s *Storage) withOptions(opts *Options, fn func(storage *C.pgb_storage, opts *C.pgb_options) error) error {
	return s.ctx.withOptions(opts, func(_ *C.pgb_ctx, o *C.pgb_options) error {
		if s.ptr == nil {
			return newError(CodeInvalid, "the storage is closed", "")
		}
		return fn(s.ptr, o)
	})
}

// Put stores data under key, replacing any object there; the object becomes
// visible all at once.
func (s *Storage) Put(key string, data []byte) error {
	return s.put(key, data, 0)
}

// PutNew stores data under key only if no object is there: otherwise it is an
// *Error with CodeExists, decided atomically, and the object is left as it was.
func (s *Storage) PutNew(key string, data []byte) error {
	return s.put(key, data, C.PGB_STORAGE_NO_OVERWRITE)
}

func (s *Storage) put(key string, data []byte, flags C.int) error {
	cKey, err := cString(key, "object key")
	if err != nil {
		return err
	}
	defer freeC(cKey)
	var pointer unsafe.Pointer
	if len(data) > 0 {
		pointer = unsafe.Pointer(&data[0]) // no Go pointers inside: cgo may pass it for the call
	}
	return s.with(func(storage *C.pgb_storage) error {
		return s.ctx.check(C.pgb_storage_put(storage, cKey, pointer, C.size_t(len(data)), flags))
	})
}

// Get reads a whole object. An absent key is an *Error with CodeNotFound whose
// message names the key.
func (s *Storage) Get(key string) ([]byte, error) {
	cKey, err := cString(key, "object key")
	if err != nil {
		return nil, err
	}
	defer freeC(cKey)
	var data []byte
	err = s.with(func(storage *C.pgb_storage) error {
		var buffer unsafe.Pointer
		var size C.size_t
		if err := s.ctx.check(C.pgb_storage_get(storage, cKey, &buffer, &size)); err != nil {
			return err
		}
		defer C.pgb_free(buffer)
		// C.GoBytes takes an int32 length: objects may be larger.
		data = make([]byte, int(size))
		copy(data, unsafe.Slice((*byte)(buffer), int(size)))
		return nil
	})
	return data, err
}

// Stat gives an object's size in bytes. An absent key is an *Error with
// CodeNotFound whose message names the key.
func (s *Storage) Stat(key string) (int64, error) {
	cKey, err := cString(key, "object key")
	if err != nil {
		return 0, err
	}
	defer freeC(cKey)
	var size C.uint64_t
	err = s.with(func(storage *C.pgb_storage) error {
		return s.ctx.check(C.pgb_storage_stat(storage, cKey, &size))
	})
	return int64(size), err
}

// Remove deletes an object; an absent one is not an error.
func (s *Storage) Remove(key string) error {
	cKey, err := cString(key, "object key")
	if err != nil {
		return err
	}
	defer freeC(cKey)
	return s.with(func(storage *C.pgb_storage) error {
		return s.ctx.check(C.pgb_storage_remove(storage, cKey))
	})
}

// List gives every object whose key begins with prefix ("" for all), sorted
// by key.
func (s *Storage) List(prefix string) ([]StorageObject, error) {
	cPrefix, err := cString(prefix, "key prefix")
	if err != nil {
		return nil, err
	}
	defer freeC(cPrefix)
	objects := []StorageObject{}
	// The C side gets a handle, never a Go pointer, and hands it back to
	// pgbGoStorageListEach for each key.
	handle := cgo.NewHandle(&objects)
	defer handle.Delete()
	err = s.with(func(storage *C.pgb_storage) error {
		return s.ctx.check(C.pgb_go_storage_list(storage, cPrefix, C.uintptr_t(handle)))
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(objects, func(i, j int) bool { return objects[i].Key < objects[j].Key })
	return objects, nil
}
