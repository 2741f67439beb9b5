#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make test-install: `make install DESTDIR=...` lays out the host's programs,
# manuals, systemd units and example configuration, and the installed unit
# starts the installed daemon (its ExecStart names a file that was installed).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
d=$(mktemp -d /tmp/hvipe-install.XXXXXX)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
nok() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { local t=$1; shift; if "$@"; then ok "$t"; else nok "$t"; fi; }

make -s O="$O" install DESTDIR="$d" PREFIX=/opt/hvipe >"$d.log" 2>&1 || { cat "$d.log"; nok "make install"; }
rm -f "$d.log"
for f in sbin/hvipe-hostd sbin/hvipe-vsockd bin/hvipectl; do
	check "$f installed and executable" test -x "$d/opt/hvipe/$f"
done
check "the installed hvipectl runs" "$d/opt/hvipe/bin/hvipectl" --help
for m in hvipe-hostd hvipe-vsockd hvipectl-policy hvipectl-vm; do
	check "manual $m.8 installed" test -f "$d/opt/hvipe/share/man/man8/$m.8"
done
unit=$d/lib/systemd/system/hvipe-hostd.service
check "hvipe-hostd.service installed" test -f "$unit"
check "hvipe-hostd.socket installed" test -f "$d/lib/systemd/system/hvipe-hostd.socket"
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
check "the unit's ExecStart ($exe) is the installed daemon" test -x "$d$exe"
check "example configuration installed" test -f "$d/opt/hvipe/share/doc/hvipe/hostd.conf.example"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
