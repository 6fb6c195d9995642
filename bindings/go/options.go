package pgbackup

/*
#include <stdlib.h>
#include <pgbackup/error.h>
#include <pgbackup/options.h>
*/
import "C"

import (
	"runtime"
	"sort"
	"unsafe"
)

// Options is a pgb_options set: key/value strings checked against the
// library's registry when they are set. Precedence, highest first: Set, the
// environment, a configuration file, the default.
type Options struct {
	ctx *Context
	ptr *C.pgb_options
}

// NewOptions makes an empty set (every option has its default) whose errors go
// to ctx. Close it when done; closing ctx closes it too.
func NewOptions(ctx *Context) (*Options, error) {
	if ctx == nil {
		return nil, newError(CodeInvalid, "NewOptions: the context is nil", "")
	}
	o := &Options{ctx: ctx}
	err := ctx.with(func(c *C.pgb_ctx) error {
		var ptr *C.pgb_options
		if err := ctx.check(C.pgb_options_new(&ptr, c)); err != nil {
			return err
		}
		o.ptr = ptr
		ctx.adopt(unsafe.Pointer(ptr), func() { C.pgb_options_free(ptr) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	runtime.SetFinalizer(o, (*Options).Close)
	return o, nil
}

// Close frees the set. Calling it again does nothing.
func (o *Options) Close() {
	o.ctx.mu.Lock()
	defer o.ctx.mu.Unlock()
	if o.ptr == nil {
		return
	}
	o.ctx.release(unsafe.Pointer(o.ptr))
	o.ptr = nil
	runtime.SetFinalizer(o, nil)
}

// with runs fn under the context's mutex once it knows the set is open.
func (o *Options) with(fn func(opts *C.pgb_options) error) error {
	return o.ctx.with(func(*C.pgb_ctx) error {
		if o.ptr == nil {
			return newError(CodeInvalid, "the option set is closed", "")
		}
		return fn(o.ptr)
	})
}

// Set gives an option a value with the highest precedence. An unknown key or a
// bad value is an *Error with code CodeInvalid; an unknown key's message
// suggests the closest known one. A list option gains one value per call.
func (o *Options) Set(key, value string) error {
	cKey, err := cString(key, "option name")
	if err != nil {
		return err
	}
	defer freeC(cKey)
	cValue, err := cString(value, "option value")
	if err != nil {
		return err
	}
	defer freeC(cValue)
	return o.with(func(opts *C.pgb_options) error {
		return o.ctx.check(C.pgb_options_set(opts, cKey, cValue))
	})
}

// Unset forgets an option's value, whatever its source: it has its default again.
func (o *Options) Unset(key string) error {
	cKey, err := cString(key, "option name")
	if err != nil {
		return err
	}
	defer freeC(cKey)
	return o.with(func(opts *C.pgb_options) error {
		return o.ctx.check(C.pgb_options_unset(opts, cKey))
	})
}

// Get reads an option's value (a list option's first); "" when it is unset
// and has no default.
func (o *Options) Get(key string) (string, error) {
	cKey, err := cString(key, "option name")
	if err != nil {
		return "", err
	}
	defer freeC(cKey)
	var value string
	err = o.with(func(opts *C.pgb_options) error {
		var cValue *C.char
		if err := o.ctx.check(C.pgb_options_get(opts, cKey, &cValue)); err != nil {
			return err
		}
		value = C.GoString(cValue) // copied now: the C string lives until the option changes
		return nil
	})
	return value, err
}

// GetAll reads every value of a list option, in order (a plain option gives
// its one value, or none).
func (o *Options) GetAll(key string) ([]string, error) {
	cKey, err := cString(key, "option name")
	if err != nil {
		return nil, err
	}
	defer freeC(cKey)
	var values []string
	err = o.with(func(opts *C.pgb_options) error {
		for index := 0; ; index++ {
			var cValue *C.char
			status := C.pgb_options_get_at(opts, cKey, C.size_t(index), &cValue)
			if status == C.PGB_ITEROVER || (status == 0 && cValue == nil) {
				return nil
			}
			if err := o.ctx.check(status); err != nil {
				return err
			}
			values = append(values, C.GoString(cValue))
		}
	})
	return values, err
}

// Source tells where an option's current value came from.
func (o *Options) Source(key string) (Source, error) {
	cKey, err := cString(key, "option name")
	if err != nil {
		return SourceDefault, err
	}
	defer freeC(cKey)
	var source Source
	err = o.with(func(opts *C.pgb_options) error {
		status := C.pgb_options_source(opts, cKey)
		if err := o.ctx.check(status); err != nil {
			return err
		}
		source = Source(status)
		return nil
	})
	return source, err
}

// LoadFile takes options from an INI-style configuration file. A file that
// cannot be read gives CodeNotFound or CodeIO; a bad line gives CodeInvalid
// with the file name and line number in the message.
func (o *Options) LoadFile(path string) error {
	cPath, err := cString(path, "file name")
	if err != nil {
		return err
	}
	defer freeC(cPath)
	return o.with(func(opts *C.pgb_options) error {
		return o.ctx.check(C.pgb_options_load_file(opts, cPath))
	})
}

// LoadEnv takes options from PGBACKUP_* variables: those of env, or those of
// the process when env is nil. A PGBACKUP_ variable that names no option is an
// error naming it.
func (o *Options) LoadEnv(env map[string]string) error {
	if env == nil {
		return o.with(func(opts *C.pgb_options) error {
			return o.ctx.check(C.pgb_options_load_env(opts, nil))
		})
	}
	envp, err := cEnvironment(env)
	if err != nil {
		return err
	}
	defer freeCEnvironment(envp)
	return o.with(func(opts *C.pgb_options) error {
		return o.ctx.check(C.pgb_options_load_env(opts, &envp[0]))
	})
}

// cEnvironment builds a NULL-terminated "NAME=value" array in C memory. Names
// are sorted so that the first bad variable reported is always the same one.
func cEnvironment(env map[string]string) ([]*C.char, error) {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	size := C.size_t(unsafe.Sizeof((*C.char)(nil)))
	envp := unsafe.Slice((**C.char)(C.calloc(C.size_t(len(names)+1), size)), len(names)+1)
	for i, name := range names {
		entry, err := cString(name+"="+env[name], "environment entry")
		if err != nil {
			freeCEnvironment(envp)
			return nil, err
		}
		envp[i] = entry
	}
	return envp, nil
}

func freeCEnvironment(envp []*C.char) {
	for _, entry := range envp {
		freeC(entry) // the terminating NULL is a no-op for free()
	}
	C.free(unsafe.Pointer(&envp[0]))
}
