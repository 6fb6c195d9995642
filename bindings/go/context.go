package pgbackup

/*
#include <pgbackup/ctx.h>
#include <pgbackup/error.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Context owns a pgb_ctx, the C handle that records the error of each call.
//
// A C context serves one caller at a time and its error message is valid only
// until its next call, so every call through a Context (or a handle made from
// it) and the reading of its error happen under the Context's mutex. Goroutines
// may share a Context, but their calls run one after the other.
type Context struct {
	mu  sync.Mutex
	ptr *C.pgb_ctx
	// C handles made from ptr, freed before it as C requires. Only C pointers
	// are kept, so this map does not keep the Go wrappers (and their
	// finalizers) alive.
	dependents map[unsafe.Pointer]func()
}

// NewContext makes a context. Close it when done; a finalizer frees a
// forgotten one.
func NewContext() (*Context, error) {
	var ptr *C.pgb_ctx
	if status := C.pgb_ctx_new(&ptr); status != 0 {
		// No context exists yet to hold a message.
		return nil, newError(int(status), "cannot make a libpgbackup context", "")
	}
	c := &Context{ptr: ptr, dependents: map[unsafe.Pointer]func(){}}
	runtime.SetFinalizer(c, (*Context).Close)
	return c, nil
}

// Close frees the context, after freeing every handle still open that was made
// from it. Calling it again does nothing.
func (c *Context) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return
	}
	for _, free := range c.dependents {
		free()
	}
	c.dependents = nil
	C.pgb_ctx_free(c.ptr)
	c.ptr = nil
	runtime.SetFinalizer(c, nil)
}

// with runs fn holding the mutex, once it knows the context is open.
func (c *Context) with(fn func(ctx *C.pgb_ctx) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr == nil {
		return newError(CodeInvalid, "the libpgbackup context is closed", "")
	}
	return fn(c.ptr)
}

// check turns a negative status into an *Error read from the context. Call it
// inside with, right after the call that returned status.
func (c *Context) check(status C.int) error {
	if status >= 0 {
		return nil
	}
	message := C.GoString(C.pgb_ctx_errmsg(c.ptr))
	if message == "" {
		// A check that fails before the context is trusted leaves no message.
		message = "libpgbackup failed with " + StatusName(int(status))
	}
	return newError(int(status), message, C.GoString(C.pgb_ctx_errdetail(c.ptr)))
}

// adopt records a C handle made from this context; call it inside with.
func (c *Context) adopt(handle unsafe.Pointer, free func()) {
	c.dependents[handle] = free
}

// release frees a C handle recorded by adopt, unless Close freed it already.
// The caller holds the mutex.
func (c *Context) release(handle unsafe.Pointer) {
	if free, ok := c.dependents[handle]; ok {
		delete(c.dependents, handle)
		free()
	}
}

// withOptions runs fn like with, passing opts's C handle (nil when opts is
// nil). When opts belongs to another Context, that Context's mutex is held too,
// so nothing changes the set while C reads it; the two mutexes are always taken
// in the same order, so two goroutines doing this crosswise cannot deadlock.
func (c *Context) withOptions(opts *Options, fn func(ctx *C.pgb_ctx, opts *C.pgb_options) error) error {
	if opts == nil {
		return c.with(func(ctx *C.pgb_ctx) error { return fn(ctx, nil) })
	}
	unlock := lockBoth(c, opts.ctx)
	defer unlock()
	if c.ptr == nil {
		return newError(CodeInvalid, "the libpgbackup context is closed", "")
	}
	if opts.ptr == nil || opts.ctx.ptr == nil { // closing its context freed it too
		return newError(CodeInvalid, "the option set is closed", "")
	}
	return fn(c.ptr, opts.ptr)
}

// lockBoth locks the mutexes of a and b (once if they are the same Context) in
// address order, and returns the function that unlocks them. The garbage
// collector does not move heap objects, so the order never changes.
func lockBoth(a, b *Context) (unlock func()) {
	if a == b {
		a.mu.Lock()
		return a.mu.Unlock
	}
	if uintptr(unsafe.Pointer(b)) < uintptr(unsafe.Pointer(a)) {
		a, b = b, a
	}
	a.mu.Lock()
	b.mu.Lock()
	return func() {
		b.mu.Unlock()
		a.mu.Unlock()
	}
}
