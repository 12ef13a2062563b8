//go:build linux

package boot

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// dracut builds an initramfs with dracut and the package's module for
// host h (not for this machine: --no-hostonly, and without systemd in the
// image, as Debian's dracut-core has no systemd initrd units; with
// network-legacy, whose ifup runs the initqueue/online hooks) and
// returns the image's path, dracut's output and its error.
func dracut(t *testing.T, h host) (img, out string, err error) {
	t.Helper()
	kver, _ := kernel(t)
	pkg := packageRoot(t, h)
	img = filepath.Join(t.TempDir(), "initrd.img")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	b, err := inPackageRoot(ctx, pkg, "dracut", "--force", "--no-hostonly", "--no-kernel",
		"--omit", "systemd systemd-initrd dracut-systemd", "--add", "network-legacy ssmrandom",
		"--tmpdir", t.TempDir(), img, kver).CombinedOutput()
	t.Logf("dracut: %.1f s", time.Since(t0).Seconds())
	return img, string(b), err
}

// TestDracutModule builds an image with the dracut module and checks its
// listing (lsinitrd): the binary, seed-boot, the configuration, the key
// (mode 0600) and the trusted key, the hooks; the image itself is not
// readable by others. A host key that others may read stops the build.
func TestDracutModule(t *testing.T) {
	need(t, "dracut", "lsinitrd", "unshare")
	_, pub := producerKey(t)
	trust := map[string][]byte{"producer.pub.jwk": pub}

	img, out, err := dracut(t, host{conf: seedConf(producerAddr, seedTimeout), trust: trust})
	if err != nil {
		t.Fatalf("dracut: %v\n%s", err, out)
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		t.Errorf("image mode %o, want no access for group and others", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := run(t, ctx, "lsinitrd", img)
	for _, want := range []string{
		`-rw------- .* etc/ssmrandom/host\.jwk$`,
		` etc/ssmrandom/seed\.conf$`,
		` etc/ssmrandom/trust/producer\.pub\.jwk$`,
		`-rwx.* usr/bin/ssmrandom$`,
		`-rwx.* usr/lib/ssmrandom/seed-boot$`,
		` usr/lib/dracut/hooks/cmdline/90-ssmrandom-start\.sh$`,
		` usr/lib/dracut/hooks/initqueue/online/50-ssmrandom-online\.sh$`,
		` usr/lib/dracut/hooks/pre-mount/05-ssmrandom-check\.sh$`,
		`^ssmrandom$`, // the module list at the top
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(list) {
			t.Errorf("lsinitrd has no line matching %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("lsinitrd (ssmrandom lines):\n%s", grepLines(list, "ssmrandom"))
	}
	t.Logf("lsinitrd (ssmrandom lines):\n%s", grepLines(list, "ssmrandom"))

	_, out, err = dracut(t, host{conf: seedConf(producerAddr, seedTimeout), keyMode: 0o644, trust: trust})
	if err == nil {
		t.Fatalf("dracut built an image with a host key of mode 0644:\n%s", out)
	}
	if want := "ssmrandom: host key /etc/ssmrandom/host.jwk has mode 644, readable by group or others"; !strings.Contains(out, want) {
		t.Fatalf("dracut failed without saying %q:\n%s", want, out)
	}
}
