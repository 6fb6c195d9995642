package pgbackup

/*
#include <pgbackup/keys.h>
*/
import "C"

// Keygen makes an X25519 key pair with a fresh Context: the private key in
// path (PEM, mode 0600) and the public key in path+".pub". Give the .pub file
// to hosts that write backups (option "recipient"); keep the private key where
// restores run (option "identity"). When either file exists already it is an
// *Error with CodeExists naming it, and neither file is changed.
func Keygen(path string) error {
	ctx, err := NewContext()
	if err != nil {
		return err
	}
	defer ctx.Close()
	return ctx.Keygen(path)
}

// Keygen is the package-level Keygen on this context.
func (c *Context) Keygen(path string) error {
	cPath, err := cString(path, "key file name")
	if err != nil {
		return err
	}
	defer freeC(cPath)
	return c.with(func(ctx *C.pgb_ctx) error {
		return c.check(C.pgb_keygen(ctx, cPath))
	})
}
