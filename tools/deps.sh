#!/usr/bin/env bash
# Install every Debian package hvipe needs, non-interactively and idempotently.
# Also fetches the arch-independent python3-virt-firmware (virt-fw-vars) from
# Debian 13 (trixie), which bookworm lacks, without adding trixie to apt's
# sources: the .deb is downloaded with a private apt configuration and
# installed with dpkg; its dependencies all come from bookworm.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$top/deps/debian-packages.txt" | grep -v '^$')

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	echo "deps: all ${#pkgs[@]} Debian packages present"
fi

# virt-fw-vars from trixie.
if ! command -v virt-fw-vars >/dev/null 2>&1; then
	echo "deps: fetching python3-virt-firmware from Debian 13"
	work=$(mktemp -d)
	chmod 755 "$work"
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/etc/sources.list.d"
	cat > "$work/etc/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
SRC
	aptopt=(-o Dir::Etc::sourcelist="$work/etc/sources.list"
		-o Dir::Etc::sourceparts="$work/etc/sources.list.d"
		-o Dir::State::Lists="$work/lists"
		-o Dir::Cache::Archives="$work/archives"
		-o APT::Get::List-Cleanup=0)
	$SUDO apt-get "${aptopt[@]}" update -qq
	(cd "$work" && $SUDO apt-get "${aptopt[@]}" download python3-virt-firmware >/dev/null)
	$SUDO dpkg -i "$work"/python3-virt-firmware_*.deb >/dev/null
	command -v virt-fw-vars >/dev/null || { echo "deps: virt-fw-vars still missing" >&2; exit 1; }
fi
echo "deps: ok"
