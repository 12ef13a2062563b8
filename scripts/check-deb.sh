#!/usr/bin/env bash
# check-deb.sh DIR: check the one ssmrandom_*.deb in DIR (made by make deb),
# install it, exercise what it installed, and purge it, leaving the machine
# as it was. Needs root. Every step has a time limit; any surprise fails
# the run with a line starting "check-deb: FAIL:".
#
#  1. dpkg-deb --info: the control fields and maintainer scripts.
#  2. dpkg-deb --contents: exactly the expected paths, modes and owners.
#  3. dpkg -i: the user, /etc/ssmrandom and its modes, the conffiles,
#     dpkg --verify, no service enabled or started, the udev rule applied
#     to /dev/hwrng (udevadm trigger, seen through a stand-in udevadm),
#     initramfs-tools' trigger run (seen through a stand-in
#     update-initramfs: e2e/boot builds and boots real images).
#  4. systemd-analyze verify on the installed units and timer and on
#     rngd.service with the example drop-in (no output allowed);
#     systemd-analyze security below an exposure of 2.0.
#  5. The man page renders without warnings and has its sections; the
#     bash completion completes commands and flags (zsh's: its syntax).
#  6. The units' own ExecStart= lines with /etc/default/ssmrandom, run as
#     the user ssmrandom with the units' capabilities (setpriv) on
#     loopback, after the key set-up that README.Debian documents: recv
#     without a producer exits 2, recv writes the FIFO in /run/ssmrandom,
#     recv-kernel works with CAP_SYS_ADMIN alone and fails without it;
#     seed-boot with the shipped seed.conf (no producer) exits 2.
#  7. dpkg --purge: user, group, units, conffiles, udev rule, initramfs
#     hook and dracut module gone (udev and initramfs-tools told); keys
#     kept, and the purge says so.
#
# It refuses to run if the package is installed, or the user ssmrandom or
# /etc/ssmrandom exist: it would purge someone's set-up.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
# Run in a mount namespace of its own with an empty tmpfs on /run, as
# systemd gives a service a fresh RuntimeDirectory: step 6 makes
# /run/ssmrandom there, whatever the machine's /run holds, and it vanishes
# with the check. (dpkg's changes to /etc and /usr are real.)
if [ -z "${CHECK_DEB_PRIVATE_RUN:-}" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "check-deb: FAIL: must run as root (it installs and purges the package)" >&2
		exit 1
	fi
	export CHECK_DEB_PRIVATE_RUN=1
	exec unshare --mount --propagation private -- "$(readlink -f "$0")" "$@"
fi
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
cd "$(dirname "$0")/.."

fail() { echo "check-deb: FAIL: $*" >&2; exit 1; }
ok() { echo "check-deb: ok: $*"; }
# quiet SECONDS CMD...: run CMD with a time limit, show its output only
# if it fails.
quiet() {
	local secs=$1 out
	shift
	if ! out=$(timeout -k 5 "$secs" "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "$* (exit status or time-out after ${secs}s)"
	fi
}

[ "$(id -u)" = 0 ] || fail "must run as root (it installs and purges the package)"
for c in dpkg dpkg-deb dpkg-query setpriv getent timeout; do
	command -v "$c" >/dev/null || fail "$c not found"
done
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (Debian package systemd)"

shopt -s nullglob
debs=("$1"/ssmrandom_*.deb)
shopt -u nullglob
[ ${#debs[@]} -eq 1 ] || fail "want exactly one ssmrandom_*.deb in $1, found ${#debs[@]} (run make deb)"
deb=${debs[0]}
echo "check-deb: $deb"

# A clean machine: nothing of ours that a purge would take away.
status=$(dpkg-query -W -f='${db:Status-Status}' ssmrandom 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] ||
	fail "package ssmrandom is $status here; dpkg --purge ssmrandom first (this check would purge it)"
! getent passwd ssmrandom >/dev/null || fail "user ssmrandom exists without the package (left from an earlier run? deluser --system ssmrandom)"
! getent group ssmrandom >/dev/null || fail "group ssmrandom exists without the package (delgroup --system ssmrandom)"
[ ! -e /etc/ssmrandom ] || fail "/etc/ssmrandom exists; move it away first"
[ ! -e /etc/default/ssmrandom ] || fail "/etc/default/ssmrandom exists without the package; move it away first"

tmp=$(mktemp -d /tmp/check-deb.XXXXXX)
chmod 0755 "$tmp"
installed=0
pids=()
cleanup() {
	local rc=$?
	trap - EXIT
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if [ "$installed" = 1 ]; then
		if timeout -k 5 180 dpkg --purge ssmrandom >"$tmp/purge-cleanup.log" 2>&1; then
			echo "check-deb: purged the package it had installed" >&2
		else
			cat "$tmp/purge-cleanup.log" >&2
			echo "check-deb: FAIL: could not purge ssmrandom" >&2
			rc=1
		fi
		rm -rf /etc/ssmrandom
	fi
	rm -rf "$tmp"
	if [ "$rc" != 0 ]; then
		echo "check-deb: FAILED (exit status $rc)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

arch=$(dpkg --print-architecture)

# 1. The control fields and maintainer scripts.
quiet 30 dpkg-deb --info "$deb"
field() { timeout 30 dpkg-deb --field "$deb" "$1"; }
version=$(field Version)
want_field() {
	local got
	got=$(field "$1")
	[ "$got" = "$2" ] || fail "control field $1: got '$got', want '$2'"
}
want_field Package ssmrandom
want_field Architecture "$arch"
depends=$(field Depends)
case "$depends" in adduser|"adduser, "*) ;; *) fail "control field Depends: got '$depends', want adduser first" ;; esac
if readelf -d ./ssmrandom 2>/dev/null | grep -q 'NEEDED.*libc\.so'; then
	case "$depends" in *"libc6 (>= "*) ;; *) fail "control field Depends: got '$depends', want libc6 (>= ...) for a binary linked with libc" ;; esac
fi
want_field Recommends "rng-tools5 | rng-tools"
want_field Suggests "initramfs-tools | dracut"
[ -n "$(field Maintainer)" ] || fail "no Maintainer field"
[ -n "$(field Description)" ] || fail "no Description field"
[ -n "$(field Installed-Size)" ] || fail "no Installed-Size field"
dpkg --validate-version "$version" || fail "Version $version is not a valid Debian version"
[ "$(basename "$deb")" = "ssmrandom_${version}_${arch}.deb" ] ||
	fail "file name $(basename "$deb"), want ssmrandom_${version}_${arch}.deb"
mkdir "$tmp/control"
timeout 30 dpkg-deb --control "$deb" "$tmp/control"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || fail "maintainer script $s missing or not executable"
	sh -n "$tmp/control/$s" || fail "maintainer script $s: syntax error"
done
want_conffiles=$(printf '%s\n' /etc/default/ssmrandom /etc/ssmrandom/seed.conf)
[ "$(cat "$tmp/control/conffiles")" = "$want_conffiles" ] ||
	fail "conffiles: got '$(cat "$tmp/control/conffiles")', want '$want_conffiles'"
[ "$(cat "$tmp/control/triggers" 2>/dev/null)" = "activate-noawait update-initramfs" ] ||
	fail "triggers: got '$(cat "$tmp/control/triggers" 2>/dev/null)', want 'activate-noawait update-initramfs' (the package ships an initramfs-tools hook)"
ok "dpkg-deb --info: ssmrandom $version $arch, Depends $depends, Recommends rng-tools5 | rng-tools, Suggests initramfs-tools | dracut, 2 conffiles, triggers update-initramfs"

# 2. Exactly these paths, modes and owners.
cat >"$tmp/want-contents" <<'EOF'
drwxr-xr-x root/root ./
drwxr-xr-x root/root ./etc/
drwxr-xr-x root/root ./etc/default/
-rw-r--r-- root/root ./etc/default/ssmrandom
drwxr-x--- root/root ./etc/ssmrandom/
-rw-r--r-- root/root ./etc/ssmrandom/seed.conf
drwxr-xr-x root/root ./lib/
drwxr-xr-x root/root ./lib/systemd/
drwxr-xr-x root/root ./lib/systemd/system/
-rw-r--r-- root/root ./lib/systemd/system/ssmrandom-recv-kernel.service
-rw-r--r-- root/root ./lib/systemd/system/ssmrandom-recv.service
-rw-r--r-- root/root ./lib/systemd/system/ssmrandom-seed.service
-rw-r--r-- root/root ./lib/systemd/system/ssmrandom-seed.timer
-rw-r--r-- root/root ./lib/systemd/system/ssmrandom-send.service
drwxr-xr-x root/root ./lib/udev/
drwxr-xr-x root/root ./lib/udev/rules.d/
-rw-r--r-- root/root ./lib/udev/rules.d/60-ssmrandom-hwrng.rules
drwxr-xr-x root/root ./usr/
drwxr-xr-x root/root ./usr/bin/
-rwxr-xr-x root/root ./usr/bin/ssmrandom
drwxr-xr-x root/root ./usr/lib/
drwxr-xr-x root/root ./usr/lib/dracut/
drwxr-xr-x root/root ./usr/lib/dracut/modules.d/
drwxr-xr-x root/root ./usr/lib/dracut/modules.d/90ssmrandom/
-rwxr-xr-x root/root ./usr/lib/dracut/modules.d/90ssmrandom/module-setup.sh
-rwxr-xr-x root/root ./usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-check.sh
-rwxr-xr-x root/root ./usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-online.sh
-rwxr-xr-x root/root ./usr/lib/dracut/modules.d/90ssmrandom/ssmrandom-start.sh
drwxr-xr-x root/root ./usr/lib/ssmrandom/
-rwxr-xr-x root/root ./usr/lib/ssmrandom/seed-boot
drwxr-xr-x root/root ./usr/share/
drwxr-xr-x root/root ./usr/share/bash-completion/
drwxr-xr-x root/root ./usr/share/bash-completion/completions/
-rw-r--r-- root/root ./usr/share/bash-completion/completions/ssmrandom
drwxr-xr-x root/root ./usr/share/doc/
drwxr-xr-x root/root ./usr/share/doc/ssmrandom/
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/README.Debian
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/README.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/boot.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/changelog.gz
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/copyright
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/deployment.md
drwxr-xr-x root/root ./usr/share/doc/ssmrandom/examples/
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/examples/grafana-dashboard.json
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/examples/rngd-ssmrandom.conf
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/flood.svg
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/metrics.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/migration.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/performance.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/protocol.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/research.md
-rw-r--r-- root/root ./usr/share/doc/ssmrandom/security.md
drwxr-xr-x root/root ./usr/share/initramfs-tools/
drwxr-xr-x root/root ./usr/share/initramfs-tools/conf-hooks.d/
-rw-r--r-- root/root ./usr/share/initramfs-tools/conf-hooks.d/ssmrandom
drwxr-xr-x root/root ./usr/share/initramfs-tools/hooks/
-rwxr-xr-x root/root ./usr/share/initramfs-tools/hooks/ssmrandom
drwxr-xr-x root/root ./usr/share/initramfs-tools/scripts/
drwxr-xr-x root/root ./usr/share/initramfs-tools/scripts/init-bottom/
-rwxr-xr-x root/root ./usr/share/initramfs-tools/scripts/init-bottom/ssmrandom
drwxr-xr-x root/root ./usr/share/initramfs-tools/scripts/init-premount/
-rwxr-xr-x root/root ./usr/share/initramfs-tools/scripts/init-premount/ssmrandom
drwxr-xr-x root/root ./usr/share/man/
drwxr-xr-x root/root ./usr/share/man/man8/
-rw-r--r-- root/root ./usr/share/man/man8/ssmrandom.8.gz
drwxr-xr-x root/root ./usr/share/zsh/
drwxr-xr-x root/root ./usr/share/zsh/vendor-completions/
-rw-r--r-- root/root ./usr/share/zsh/vendor-completions/_ssmrandom
EOF
timeout 30 dpkg-deb --contents "$deb" >"$tmp/contents"
# perms owner path; a symlink's "-> target" would make it differ.
awk '{ $3 = $4 = $5 = ""; print }' "$tmp/contents" | tr -s ' ' | LC_ALL=C sort >"$tmp/got-contents"
LC_ALL=C sort "$tmp/want-contents" >"$tmp/want-sorted"
if ! diff -u "$tmp/want-sorted" "$tmp/got-contents" >"$tmp/contents.diff"; then
	cat "$tmp/contents.diff" >&2
	fail "dpkg-deb --contents differs from the expected list (- want, + got)"
fi
ok "dpkg-deb --contents: $(wc -l <"$tmp/got-contents") entries, modes and root ownership as expected"

# 3. Install. The maintainer scripts apply the udev rule when udev runs
# (/run/udev): a stand-in udevadm first on PATH records what they ask of
# it, in this check's private /run. (With no udev daemon here, the rule
# itself is checked by udevadm test in step 5, where udevadm exists.)
# The package's trigger makes initramfs-tools' postinst run
# update-initramfs -u: a stand-in records it too, so that this check
# leaves the machine's /boot alone (e2e/boot builds images with the
# hook and boots them).
mkdir -p "$tmp/bin" /run/udev
printf '#!/bin/sh\necho "$*" >>"%s/udevadm.log"\n' "$tmp" >"$tmp/bin/udevadm"
printf '#!/bin/sh\necho "$*" >>"%s/update-initramfs.log"\n' "$tmp" >"$tmp/bin/update-initramfs"
chmod 0755 "$tmp/bin/udevadm" "$tmp/bin/update-initramfs"
installed=1
if ! PATH="$tmp/bin:$PATH" timeout -k 5 180 dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	fail "dpkg -i $deb"
fi
grep -q 'no service enabled' "$tmp/install.log" || { cat "$tmp/install.log" >&2; fail "postinst did not print its key provisioning note"; }
# want_udev SCRIPT: SCRIPT reloaded udev's rules and triggered hw_random.
want_udev() {
	grep -qx 'control --reload-rules' "$tmp/udevadm.log" 2>/dev/null &&
		grep -qx 'trigger --action=change --subsystem-match=misc --sysname-match=hw_random' "$tmp/udevadm.log" ||
		{ cat "$tmp/udevadm.log" >&2 2>/dev/null; fail "$1 did not reload udev's rules and trigger hw_random (/dev/hwrng)"; }
	rm -f "$tmp/udevadm.log"
}
want_udev postinst
# want_initramfs WHEN: initramfs-tools (where installed) was triggered
# and ran update-initramfs -u.
initramfs_tools=0
if [ "$(dpkg-query -W -f='${db:Status-Status}' initramfs-tools 2>/dev/null)" = installed ]; then
	initramfs_tools=1
fi
want_initramfs() {
	[ "$initramfs_tools" = 1 ] || return 0
	grep -qx -- '-u' "$tmp/update-initramfs.log" 2>/dev/null ||
		{ cat "$tmp/update-initramfs.log" >&2 2>/dev/null; fail "$1 did not trigger initramfs-tools' update-initramfs -u"; }
	rm -f "$tmp/update-initramfs.log"
}
want_initramfs "dpkg -i"
[ "$(dpkg-query -W -f='${db:Status-Abbrev}' ssmrandom)" = "ii " ] || fail "ssmrandom not installed cleanly: $(dpkg-query -W -f='${db:Status-Abbrev}' ssmrandom)"
verify=$(timeout 30 dpkg --verify ssmrandom 2>&1) || true
[ -z "$verify" ] || fail "dpkg --verify ssmrandom: $verify"
for f in /etc/default/ssmrandom /etc/ssmrandom/seed.conf; do
	dpkg-query -W -f='${Conffiles}\n' ssmrandom | grep -q "^ $f " || fail "$f is not a registered conffile"
done
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd ssmrandom) || fail "postinst made no user ssmrandom"
[ "$uid" -lt 1000 ] || fail "user ssmrandom has uid $uid, want a system uid (< 1000)"
[ "$(getent group ssmrandom | cut -d: -f3)" = "$gid" ] || fail "user ssmrandom's primary group is not ssmrandom"
[ "$home" = /nonexistent ] || fail "user ssmrandom's home is $home, want /nonexistent"
case "$shell" in */nologin|/bin/false) ;; *) fail "user ssmrandom has login shell $shell" ;; esac
want_stat() {
	local got
	got=$(stat -c '%F %a %U:%G' "$1" 2>/dev/null) || fail "$1 missing"
	[ "$got" = "$2" ] || fail "$1: got '$got', want '$2'"
}
want_stat /etc/ssmrandom "directory 750 root:ssmrandom"
want_stat /etc/ssmrandom/trust "directory 755 root:root"
want_stat /usr/bin/ssmrandom "regular file 755 root:root"
want_stat /etc/default/ssmrandom "regular file 644 root:root"
want_stat /etc/ssmrandom/seed.conf "regular file 644 root:root"
want_stat /usr/lib/ssmrandom/seed-boot "regular file 755 root:root"
want_stat /usr/share/initramfs-tools/hooks/ssmrandom "regular file 755 root:root"
want_stat /usr/lib/dracut/modules.d/90ssmrandom/module-setup.sh "regular file 755 root:root"
grep -qx 'SUBSYSTEM=="misc", KERNEL=="hw_random", GROUP="ssmrandom", MODE="0640"' /lib/udev/rules.d/60-ssmrandom-hwrng.rules ||
	fail "/lib/udev/rules.d/60-ssmrandom-hwrng.rules does not give hw_random to the group ssmrandom"
enabled=$(find /etc/systemd/system -name 'ssmrandom*' 2>/dev/null)
[ -z "$enabled" ] || fail "a service was enabled on install: $enabled"
if pgrep -u ssmrandom >/dev/null; then fail "a process of user ssmrandom runs after install"; fi
[ "$(/usr/bin/ssmrandom --version)" = "$(./ssmrandom --version)" ] ||
	fail "installed binary says '$(/usr/bin/ssmrandom --version)', the built one '$(./ssmrandom --version)'"
if [ "$initramfs_tools" = 1 ]; then trig="initramfs-tools triggered (update-initramfs -u)"; else trig="initramfs trigger not checked: initramfs-tools not installed"; fi
ok "dpkg -i: user ssmrandom (uid $uid, $shell), /etc/ssmrandom 0750 root:ssmrandom, trust/ 0755, 2 conffiles, dpkg --verify clean, nothing enabled, udev rule installed and triggered, $trig"

# 4. systemd-analyze verify. It needs no running systemd; with none as
# PID 1 it still loads the units and their dependencies, checks the
# executables and the man page of Documentation=. Any output fails.
units=(/lib/systemd/system/ssmrandom-send.service /lib/systemd/system/ssmrandom-recv.service /lib/systemd/system/ssmrandom-recv-kernel.service
	/lib/systemd/system/ssmrandom-seed.service)
timer=/lib/systemd/system/ssmrandom-seed.timer
if ! out=$(timeout -k 5 60 systemd-analyze verify "${units[@]}" "$timer" 2>&1) || [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	fail "systemd-analyze verify on the installed units"
fi
for u in "${units[@]}"; do
	if ! out=$(timeout -k 5 60 systemd-analyze security --offline=true --threshold=20 "$u" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "systemd-analyze security: $(basename "$u") exposure above 2.0"
	fi
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "check-deb:     $(basename "$u"): exposure $score"
done
# The rngd drop-in on top of rng-tools5's own unit, from a scratch folder
# (verify reads UNIT.d/ beside a unit given as a path), so /etc is not touched.
if [ -f /lib/systemd/system/rngd.service ]; then
	mkdir -p "$tmp/units/rngd.service.d"
	cp /lib/systemd/system/rngd.service "$tmp/units/"
	cp /usr/share/doc/ssmrandom/examples/rngd-ssmrandom.conf "$tmp/units/rngd.service.d/ssmrandom.conf"
	if ! out=$(timeout -k 5 60 systemd-analyze verify "$tmp/units/rngd.service" 2>&1) || [ -n "$out" ]; then
		printf '%s\n' "$out" >&2
		fail "systemd-analyze verify rngd.service with examples/rngd-ssmrandom.conf"
	fi
	grep -q 'rngd.service.d/ssmrandom.conf' < <(SYSTEMD_LOG_LEVEL=debug timeout 60 systemd-analyze verify "$tmp/units/rngd.service" 2>&1) ||
		fail "systemd-analyze verify did not load the rngd drop-in"
	ok "systemd-analyze verify: 4 services, the timer and rngd.service + examples/rngd-ssmrandom.conf, no output; security exposure under 2.0"
elif [ -n "${CI:-}" ]; then
	fail "rng-tools5's rngd.service is missing: CI installs rng-tools5 (.ci/run)"
else
	ok "systemd-analyze verify: 4 services and the timer, no output (rngd drop-in not checked: rng-tools5 not installed)"
fi

# 5. The man page.
page=/usr/share/man/man8/ssmrandom.8.gz
zcat "$page" | head -n 1 | grep -q '^[.'"'"']' || fail "$page is not roff"
if command -v man >/dev/null; then
	MANWIDTH=80 timeout 30 man --warnings -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err" || { cat "$tmp/man.err" >&2; fail "man -l $page"; }
	[ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err" >&2; fail "man -l $page printed warnings"; }
	how="man -l --warnings"
elif command -v groff >/dev/null; then
	zcat "$page" | timeout 30 groff -man -Tutf8 -ww >"$tmp/man.txt" 2>"$tmp/man.err" || { cat "$tmp/man.err" >&2; fail "groff $page"; }
	[ ! -s "$tmp/man.err" ] || { cat "$tmp/man.err" >&2; fail "groff printed warnings for $page"; }
	how="groff -ww"
else
	fail "neither man nor groff to render $page (Debian package man-db)"
fi
for want in 'ssmrandom - distribute signed entropy' 'keygen' 'send' 'recv' '--trust PATH' \
	'EXIT STATUS' SIGNALS FILES EXAMPLES 'SEE ALSO' /usr/share/doc/ssmrandom/NAME.md; do
	grep -qF -- "$want" "$tmp/man.txt" || fail "rendered man page lacks '$want'"
done
! zgrep -qF '=""' "$page" || fail "$page has flag lines with =\"\""
# Every docs/NAME.md the page names is installed.
for d in $(zcat "$page" | grep -o 'docs/[a-z0-9-]*\.md' | sort -u); do
	[ -f "/usr/share/doc/ssmrandom/${d#docs/}" ] || fail "the man page names $d, not installed as /usr/share/doc/ssmrandom/${d#docs/}"
done
ok "man page: $how renders $(wc -l <"$tmp/man.txt") lines, no warnings; EXIT STATUS, SIGNALS, FILES, EXAMPLES, SEE ALSO; the docs it names are installed"

# Shell completion: the installed bash script, in a bash without
# bash-completion's helpers, completes a command and a flag by running
# the installed binary.
complete_bash() {
	timeout 30 bash -c 'PATH=/usr/bin:/bin; source /usr/share/bash-completion/completions/ssmrandom
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ssmrandom; printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}
[ "$(complete_bash ssmrandom re)" = recv ] || fail "bash completion of 'ssmrandom re': got '$(complete_bash ssmrandom re)', want recv"
[ "$(complete_bash ssmrandom recv --tru)" = --trust ] || fail "bash completion of 'ssmrandom recv --tru': got '$(complete_bash ssmrandom recv --tru)', want --trust"
if command -v zsh >/dev/null; then
	zsh -n /usr/share/zsh/vendor-completions/_ssmrandom || fail "zsh -n /usr/share/zsh/vendor-completions/_ssmrandom"
	head -n 1 /usr/share/zsh/vendor-completions/_ssmrandom | grep -qx '#compdef ssmrandom' || fail "_ssmrandom does not start with #compdef ssmrandom"
	ok "shell completion: bash completes commands and flags; zsh's script parses"
else
	ok "shell completion: bash completes commands and flags (zsh's not checked: no zsh)"
fi

# The udev rule, where udevadm can simulate it without a daemon: a change
# event of hw_random gives /dev/hwrng the group ssmrandom and mode 0640.
# udevadm test applies the permissions it computes, so it runs in a mount
# namespace of its own with a scratch /dev holding a node of the same
# device; the real /dev/hwrng is not touched.
if command -v udevadm >/dev/null && [ -e /sys/class/misc/hw_random ]; then
	got=$(timeout 30 unshare --mount --propagation private -- sh -c '
		mount -t tmpfs -o mode=0755 tmpfs /dev && mknod -m 0600 /dev/hwrng c "$2" "$3" && mknod -m 0666 /dev/null c 1 3 &&
		udevadm test --action=change /sys/class/misc/hw_random >"$1" 2>&1 && stat -c "%a %U:%g" /dev/hwrng' \
		sh "$tmp/udevtest.out" $(tr : ' ' </sys/class/misc/hw_random/dev)) ||
		{ cat "$tmp/udevtest.out" >&2; fail "udevadm test --action=change /sys/class/misc/hw_random"; }
	[ "$got" = "640 root:$gid" ] ||
		{ cat "$tmp/udevtest.out" >&2; fail "udevadm test: /dev/hwrng got mode and owner '$got', want '640 root:$gid' (group ssmrandom)"; }
	ok "udev rule: udevadm test makes /dev/hwrng mode 0640, group ssmrandom"
else
	ok "udev rule: not simulated (no udevadm, Debian package udev, or no hw_random here)"
fi

# 6. The units' commands, as systemd would run them (as far as a shell
# can): ExecStart= with the default file's variables, split at spaces, as
# user ssmrandom with the unit's capability sets. First the key set-up
# from README.Debian.
timeout 30 /usr/bin/ssmrandom keygen -o /etc/ssmrandom/producer >/dev/null 2>&1 || fail "ssmrandom keygen -o /etc/ssmrandom/producer"
chown ssmrandom:ssmrandom /etc/ssmrandom/producer.jwk
cp /etc/ssmrandom/producer.pub.jwk /etc/ssmrandom/trust/
want_stat /etc/ssmrandom/producer.jwk "regular file 600 ssmrandom:ssmrandom"

# execstart UNIT: the unit's ExecStart= line. It must hold nothing that
# systemd reads differently from a shell (quotes, specifiers, ${} words).
execstart() {
	local line
	line=$(sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1")
	[ "$(printf '%s\n' "$line" | wc -l)" = 1 ] || fail "$1: want one ExecStart= line"
	case "$line" in *[\"\'%\{\\]*) fail "$1: ExecStart= has quotes, % or \${}: this check cannot run it like systemd" ;; esac
	printf '%s\n' "$line"
}
# asuser CAPS: setpriv arguments for user ssmrandom with capability set
# CAPS (empty: none), no new privileges, as CapabilityBoundingSet= and
# AmbientCapabilities= give it.
asuser() {
	local caps=${1:+,+$1}
	echo setpriv --reuid=ssmrandom --regid=ssmrandom --init-groups --no-new-privs \
		--bounding-set="-all$caps" --inh-caps="-all$caps" --ambient-caps="-all$caps" --
}
# rununit UNIT CAPS TIMEOUT VAR=VALUE...: run UNIT's command with
# /etc/default/ssmrandom, then the given assignments (the test's own
# group, port, interface and counts) appended to its variables.
rununit() {
	local unit=$1 caps=$2 secs=$3
	shift 3
	(
		set -a
		# shellcheck disable=SC1091
		. /etc/default/ssmrandom
		for kv in "$@"; do
			k=${kv%%=*}
			eval "$k=\"\${$k:-} ${kv#*=}\""
		done
		set +a
		line=$(execstart "$unit")
		# Word splitting of unquoted $VAR, as systemd does for "$VAR".
		eval "set -- $line"
		# shellcheck disable=SC2046
		exec timeout -k 5 "$secs" $(asuser "$caps") "$@"
	)
}

# The default file as shipped: no producer, so recv stops with status 2,
# which the units do not restart (RestartPreventExitStatus=2).
set +e
rununit ssmrandom-recv.service "" 20 >"$tmp/norecv.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || { cat "$tmp/norecv.out" >&2; fail "recv with the shipped /etc/default/ssmrandom (no SSMRANDOM_HOST): exit status $rc, want 2"; }
grep -q 'no producer host' "$tmp/norecv.out" || { cat "$tmp/norecv.out" >&2; fail "recv without SSMRANDOM_HOST did not say why"; }

group=232.0.1.180
port=49180
common=("SSMRANDOM_ARGS=-g $group -p $port -i lo" "SSMRANDOM_HOST=127.0.0.1")
# wait_log FILE TEXT: wait up to 10 s for TEXT in FILE.
wait_log() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$1" >&2
	fail "no '$2' in $1 within 10 s"
}
# send_frames: the sender unit's command (a producer has /dev/hwrng; this
# check sends from /dev/urandom, given after the default file's -r).
send_frames() {
	rununit ssmrandom-send.service "" 20 "${common[@]}" "SSMRANDOM_SEND_ARGS=-r /dev/urandom --count 300 --rate 131072" >"$tmp/send.out" 2>&1 ||
		{ cat "$tmp/send.out" >&2; fail "sender (ssmrandom-send.service's command) failed"; }
}
# want_frames LOG: recv's summary says it forwarded 5 frames.
want_frames() {
	grep -q '"frames":5,' "$1" || { cat "$1" >&2; fail "recv did not forward 5 frames"; }
}

# The FIFO receiver, with /run/ssmrandom made as RuntimeDirectory= would
# (in this check's private /run).
install -d -m 0755 -o ssmrandom -g ssmrandom /run/ssmrandom
rununit ssmrandom-recv.service "" 30 "${common[@]}" "SSMRANDOM_RECV_ARGS=--count 5" >"$tmp/recv.out" 2>&1 &
recv=$!
pids+=("$recv")
wait_log "$tmp/recv.out" '"message":"receiving"'
want_stat /run/ssmrandom/rnd-pipe "fifo 600 ssmrandom:ssmrandom"
timeout 30 cat /run/ssmrandom/rnd-pipe >"$tmp/fifo.bytes" &
reader=$!
pids+=("$reader")
send_frames
wait "$recv" || { cat "$tmp/recv.out" >&2; fail "receiver (ssmrandom-recv.service's command) failed"; }
wait "$reader" || fail "reading /run/ssmrandom/rnd-pipe failed"
want_frames "$tmp/recv.out"
n=$(stat -c %s "$tmp/fifo.bytes")
grep -q "\"bytes\":$n," "$tmp/recv.out" || { cat "$tmp/recv.out" >&2; fail "read $n bytes from the FIFO, not what recv says it wrote"; }
rm -rf /run/ssmrandom

# The kernel receiver with only CAP_SYS_ADMIN, and without it.
set +e
rununit ssmrandom-recv-kernel.service "" 20 "${common[@]}" "SSMRANDOM_RECV_ARGS=--count 5" >"$tmp/nocap.out" 2>&1
rc=$?
set -e
if [ "$rc" = 0 ] || ! grep -q CAP_SYS_ADMIN "$tmp/nocap.out"; then
	cat "$tmp/nocap.out" >&2
	fail "the kernel receiver without CAP_SYS_ADMIN: exit status $rc, want a failure naming CAP_SYS_ADMIN"
fi
rununit ssmrandom-recv-kernel.service sys_admin 30 "${common[@]}" "SSMRANDOM_RECV_ARGS=--count 5" >"$tmp/kernel.out" 2>&1 &
recv=$!
pids+=("$recv")
wait_log "$tmp/kernel.out" '"message":"receiving"'
send_frames
wait "$recv" || { cat "$tmp/kernel.out" >&2; fail "kernel receiver (ssmrandom-recv-kernel.service's command) failed with CAP_SYS_ADMIN"; }
want_frames "$tmp/kernel.out"
# seed-boot, as ssmrandom-seed.service runs it, with the shipped
# seed.conf (no producer): nothing to do, exit status 2, and it says why.
set +e
timeout -k 5 20 $(asuser sys_admin) /usr/lib/ssmrandom/seed-boot -c /etc/ssmrandom/seed.conf >"$tmp/seed.out" 2>&1
seedrc=$?
set -e
[ "$seedrc" = 2 ] && grep -q 'no producer in SSMRANDOM_PRODUCERS' "$tmp/seed.out" ||
	{ cat "$tmp/seed.out" >&2; fail "seed-boot with the shipped seed.conf: exit status $seedrc, want 2 and 'no producer'"; }
ok "unit commands as user ssmrandom on loopback: recv without a producer exits 2; the FIFO receiver wrote $n bytes to /run/ssmrandom/rnd-pipe; recv-kernel forwarded 5 frames with only CAP_SYS_ADMIN and fails without it (exit status $rc); seed-boot with the shipped seed.conf exits 2"

# 7. Purge.
if ! PATH="$tmp/bin:$PATH" timeout -k 5 180 dpkg --purge ssmrandom >"$tmp/purge.log" 2>&1; then
	cat "$tmp/purge.log" >&2
	fail "dpkg --purge ssmrandom"
fi
installed=0
status=$(dpkg-query -W -f='${db:Status-Status}' ssmrandom 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "after purge ssmrandom is $status"
! getent passwd ssmrandom >/dev/null || fail "purge left the user ssmrandom"
! getent group ssmrandom >/dev/null || fail "purge left the group ssmrandom"
want_udev postrm
want_initramfs "dpkg --purge"
grep -q '^ssmrandom: purge left /etc/ssmrandom in place' "$tmp/purge.log" && grep -qx '  /etc/ssmrandom/producer.jwk' "$tmp/purge.log" ||
	{ cat "$tmp/purge.log" >&2; fail "purge did not say that it left /etc/ssmrandom and the keys in it"; }
for f in /usr/bin/ssmrandom /etc/default/ssmrandom "${units[@]}" "$timer" /usr/share/man/man8/ssmrandom.8.gz /usr/share/doc/ssmrandom \
	/lib/udev/rules.d/60-ssmrandom-hwrng.rules /usr/share/bash-completion/completions/ssmrandom /usr/share/zsh/vendor-completions/_ssmrandom \
	/etc/ssmrandom/seed.conf /usr/lib/ssmrandom /usr/share/initramfs-tools/hooks/ssmrandom /usr/share/initramfs-tools/conf-hooks.d/ssmrandom \
	/usr/share/initramfs-tools/scripts/init-premount/ssmrandom /usr/share/initramfs-tools/scripts/init-bottom/ssmrandom /usr/lib/dracut/modules.d/90ssmrandom; do
	[ ! -e "$f" ] || fail "purge left $f"
done
if [ ! -f /etc/ssmrandom/producer.jwk ] || [ ! -f /etc/ssmrandom/trust/producer.pub.jwk ]; then
	fail "purge deleted keys; it must leave them"
fi
rm -rf /etc/ssmrandom
ok "dpkg --purge: user, group, binary, units, conffiles, docs, udev rule, completions, initramfs hook and dracut module gone, udev and initramfs-tools told, keys kept and listed (and removed by this check)"
echo "check-deb: all checks passed for $(basename "$deb")"
