package sink

import (
	"fmt"
	"os"
)

// WriteNewFile writes b to a new file at path, mode 0600: it fails if
// path exists, even if it appeared a moment ago (O_EXCL), and never
// follows a symbolic link there. The file is synced before it is closed;
// if any step fails the file is removed, so a failed call leaves nothing
// behind, not even an empty or half-written file. It is for a secret,
// such as a host's seed, that goes to one reader that starts later.
func WriteNewFile(path string, b []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
			err = fmt.Errorf("sink: write %s: %w", path, err)
		}
	}()
	if err := f.Chmod(0o600); err != nil { // whatever the umask
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}
