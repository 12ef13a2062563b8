#!/usr/bin/env bash
# deb.sh BINARY OUTDIR: build the Debian package of ssmrandom from BINARY
# (made by `make build`) into OUTDIR/ssmrandom_<version>_<arch>.deb with
# dpkg-deb, and print the path of the .deb on the last line of output.
#
# The version comes from git: a tag vX.Y.Z gives X.Y.Z (X.Y.Z+gitN.HASH N
# commits later); without a tag it is 0.0~gitN.HASH, N the commit count;
# +dirty is added for uncommitted changes. DEB_VERSION overrides it,
# DEB_ARCH the architecture (default: dpkg --print-architecture),
# DEB_MAINTAINER the Maintainer field. Timestamps are the last commit's
# (SOURCE_DATE_EPOCH), so the same commit builds the same .deb.
#
# Layout (packaging/README.md says why):
#   /usr/bin/ssmrandom                          the binary, 0755
#   /lib/systemd/system/ssmrandom-*.service     send, recv, recv-kernel, seed
#   /lib/systemd/system/ssmrandom-seed.timer    seed every hour
#   /etc/default/ssmrandom                      conffile
#   /etc/ssmrandom/seed.conf                    conffile; /etc/ssmrandom 0750
#   /usr/lib/ssmrandom/seed-boot                the seed step of every boot path
#   /usr/share/initramfs-tools/{hooks,scripts/init-premount,scripts/init-bottom,conf-hooks.d}/ssmrandom
#   /usr/lib/dracut/modules.d/90ssmrandom/      the dracut module
#   /lib/udev/rules.d/60-ssmrandom-hwrng.rules  /dev/hwrng to the group ssmrandom
#   /usr/share/man/man8/ssmrandom.8.gz          from `ssmrandom man`
#   /usr/share/bash-completion/completions/ssmrandom   from `ssmrandom completion bash`
#   /usr/share/zsh/vendor-completions/_ssmrandom       from `ssmrandom completion zsh`
#   /usr/share/doc/ssmrandom/                   README, README.Debian, every docs/*.md and *.svg,
#                                               examples/, changelog
# The user ssmrandom and /etc/ssmrandom/trust are made by postinst, which
# gives /etc/ssmrandom to the group ssmrandom and applies the udev rule to
# /dev/hwrng. DEBIAN/triggers asks initramfs-tools to rebuild the images
# (update-initramfs), which the hook changes once seed.conf names a producer.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BINARY OUTDIR" >&2
	exit 2
fi
mkdir -p "$2"
bin=$(readlink -f "$1")
outdir=$(cd "$2" && pwd)
cd "$(dirname "$0")/.."
pkg=packaging

die() { echo "deb.sh: error: $*" >&2; exit 1; }

[ -x "$bin" ] || die "no executable $bin (run make build)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian package dpkg)"

# Debian version from git.
debian_version() {
	local desc n hash tag dirty=""
	if ! git rev-parse --git-dir >/dev/null 2>&1; then
		die "not a git checkout: set DEB_VERSION"
	fi
	if ! git diff --quiet HEAD -- 2>/dev/null; then
		dirty="+dirty"
	fi
	hash=$(git rev-parse --short HEAD)
	if desc=$(git describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
		# vX.Y.Z-N-gHASH
		tag=${desc%-*-g*}
		n=${desc%-g*}
		n=${n##*-}
		tag=${tag#v}
		if [ "$n" = 0 ]; then
			echo "${tag}${dirty}"
		else
			echo "${tag}+git${n}.${hash}${dirty}"
		fi
	else
		n=$(git rev-list --count HEAD)
		echo "0.0~git${n}.${hash}${dirty}"
	fi
}

version=${DEB_VERSION:-$(debian_version)}
dpkg --validate-version "$version" || die "version $version is not a valid Debian version"
arch=${DEB_ARCH:-$(dpkg --print-architecture)}
maintainer=${DEB_MAINTAINER:-ssmrandom maintainers <ssmrandom@localhost>}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH

# The binary must be for the package's architecture: a cross build
# (GOARCH) would otherwise be packaged under the host's.
if command -v file >/dev/null 2>&1; then
	case "$arch:$(file -b "$bin")" in
	amd64:*x86-64*|arm64:*aarch64*|armhf:*ARM*|i386:*80386*|ppc64el:*PowerPC*|s390x:*S/390*|riscv64:*RISC-V*) ;;
	amd64:*|arm64:*) die "$bin is not an $arch binary: $(file -b "$bin")" ;;
	esac
fi

# The tree goes in WORK/debian/ssmrandom, where dpkg-shlibdeps expects it.
work=$(mktemp -d "$outdir/deb-root.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/debian/ssmrandom
install -d -m 0755 "$root"

# Files, each with an explicit mode.
install -D -m 0755 "$bin" "$root/usr/bin/ssmrandom"
for u in "$pkg"/systemd/*.service "$pkg"/systemd/*.timer; do
	install -D -m 0644 "$u" "$root/lib/systemd/system/$(basename "$u")"
done
install -D -m 0644 "$pkg/default/ssmrandom" "$root/etc/default/ssmrandom"
# Boot-time seeds (docs/boot.md): the script every boot path runs, its
# configuration, the initramfs-tools hook and scripts, the dracut module.
install -D -m 0755 "$pkg/seed/seed-boot" "$root/usr/lib/ssmrandom/seed-boot"
install -D -m 0644 "$pkg/seed/seed.conf" "$root/etc/ssmrandom/seed.conf"
itools=$root/usr/share/initramfs-tools
install -D -m 0755 "$pkg/initramfs-tools/hooks/ssmrandom" "$itools/hooks/ssmrandom"
install -D -m 0755 "$pkg/initramfs-tools/scripts/init-premount/ssmrandom" "$itools/scripts/init-premount/ssmrandom"
install -D -m 0755 "$pkg/initramfs-tools/scripts/init-bottom/ssmrandom" "$itools/scripts/init-bottom/ssmrandom"
install -D -m 0644 "$pkg/initramfs-tools/conf-hooks.d/ssmrandom" "$itools/conf-hooks.d/ssmrandom"
for f in "$pkg"/dracut/90ssmrandom/*.sh; do
	install -D -m 0755 "$f" "$root/usr/lib/dracut/modules.d/90ssmrandom/$(basename "$f")"
done
install -D -m 0644 "$pkg/udev/60-ssmrandom-hwrng.rules" "$root/lib/udev/rules.d/60-ssmrandom-hwrng.rules"

# The man page, from the binary's own help text.
install -d -m 0755 "$root/usr/share/man/man8"
"$bin" man >"$root/usr/share/man/man8/ssmrandom.8"
[ -s "$root/usr/share/man/man8/ssmrandom.8" ] || die "ssmrandom man printed nothing"
head -c 1 "$root/usr/share/man/man8/ssmrandom.8" | grep -q '^[.'"'"']' || die "ssmrandom man did not print roff"
gzip -9n "$root/usr/share/man/man8/ssmrandom.8"
chmod 0644 "$root/usr/share/man/man8/ssmrandom.8.gz"

# Shell completion, from the binary too.
install -d -m 0755 "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"
"$bin" completion bash >"$root/usr/share/bash-completion/completions/ssmrandom"
"$bin" completion zsh >"$root/usr/share/zsh/vendor-completions/_ssmrandom"
chmod 0644 "$root/usr/share/bash-completion/completions/ssmrandom" "$root/usr/share/zsh/vendor-completions/_ssmrandom"

doc="$root/usr/share/doc/ssmrandom"
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 "$pkg/README.md" "$doc/README.Debian"
install -D -m 0644 "$pkg/debian/copyright" "$doc/copyright"
# Every page of docs/: the man page and --help name them as docs/NAME.md
# (the man page's SEE ALSO says where they are installed).
# The figures they show (docs/*.svg) beside them.
for f in docs/*.md docs/*.svg; do
	install -D -m 0644 "$f" "$doc/$(basename "$f")"
done
for f in "$pkg"/examples/*; do
	install -D -m 0644 "$f" "$doc/examples/$(basename "$f")"
done
# A one-entry changelog: which commit this is.
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
printf 'ssmrandom (%s) unstable; urgency=medium\n\n  * Built from git commit %s.\n\n -- %s  %s\n' \
	"$version" "$commit" "$maintainer" "$date" | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# Depends: adduser (postinst), and the shared libraries the binary links
# (libc, when built with cgo, as the default build is).
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps not found (Debian package dpkg-dev)"
printf 'Source: ssmrandom\n\nPackage: ssmrandom\nArchitecture: any\n' >"$work/debian/control"
if ! shlibs=$(cd "$work" && dpkg-shlibdeps -O debian/ssmrandom/usr/bin/ssmrandom 2>"$work/shlibdeps.err"); then
	cat "$work/shlibdeps.err" >&2
	die "dpkg-shlibdeps failed"
fi
libdeps=${shlibs#shlibs:Depends=}
depends="adduser${libdeps:+, $libdeps}"

# Every directory 0755, every mtime the commit's; but /etc/ssmrandom,
# which holds the private keys, 0750 (dpkg makes it before postinst,
# which gives it to the group ssmrandom).
find "$root" -type d -exec chmod 0755 {} +
chmod 0750 "$root/etc/ssmrandom"

# Control files.
install -d -m 0755 "$root/DEBIAN"
for s in postinst prerm postrm; do
	install -m 0755 "$pkg/debian/$s" "$root/DEBIAN/$s"
done
printf '%s\n' /etc/default/ssmrandom /etc/ssmrandom/seed.conf >"$root/DEBIAN/conffiles"
# The initramfs-tools hook and scripts changed: rebuild the images.
echo 'activate-noawait update-initramfs' >"$root/DEBIAN/triggers"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s|@MAINTAINER@|$maintainer|" -e "s/@DEPENDS@/$depends/" "$pkg/debian/control.in" >"$root/DEBIAN/control"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/triggers" "$root/DEBIAN/md5sums"
grep -q '@[A-Z]*@' "$root/DEBIAN/control" && die "unreplaced placeholder in DEBIAN/control"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# One .deb in OUTDIR at a time, so that make deb-check knows which.
deb="$outdir/ssmrandom_${version}_${arch}.deb"
rm -f "$outdir"/ssmrandom_*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >&2
echo "$deb"
