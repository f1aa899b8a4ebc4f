#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The driver folder in a kernel tree (`make check-intree`).
#
#   tools/intree.sh apply TREE     copy drivers/gpu/drm/virtio_rs into the kernel source TREE,
#                                  with include/virtio_gpu_rs in it (the driver's Makefile
#                                  looks there first), and hook the folder into
#                                  drivers/gpu/drm/{Kconfig,Makefile}; idempotent, and a file
#                                  whose content did not change keeps its time stamp, so an
#                                  incremental build recompiles only what changed
#   tools/intree.sh build VARIANT  build VARIANT in its object tree (O=) and print that tree:
#                                    y      our driver built in, the C driver =m beside it
#                                    y-noc  our driver built in, the C driver off
#                                    m      our driver an in-tree module
#   tools/intree.sh objdir VARIANT print VARIANT's object tree
#
# The normal test kernel (tools/kernel.sh) is itself built with O= from a source tree that has
# the driver folder applied but switched off. A variant's object tree starts as a copy of the
# normal kernel's, made once per kernel cache key; each build then syncs the driver sources,
# sets the variant's options and runs an incremental make over the cached objects.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'intree: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# shellcheck source=tools/progress.sh
. "$ROOT/tools/progress.sh"

# sync_file FROM TO: copies FROM over TO unless both have the same content.
sync_file() {
	if ! cmp -s "$1" "$2"; then
		mkdir -p "$(dirname "$2")"
		cp "$1" "$2"
	fi
}

# hook FILE AFTER LINE: inserts LINE after the line AFTER of FILE, unless LINE is there.
hook() {
	local file=$1 after=$2 line=$3
	grep -qxF "$line" "$file" && return 0
	grep -qxF "$after" "$file" || die "$file has no line '$after': not a 6.12 tree?"
	awk -v after="$after" -v line="$line" '{ print } $0 == after { print line }' \
		"$file" >"$file.vgrs" && mv "$file.vgrs" "$file"
}

# The driver's sources: what git tracks under the folder plus any new source file; never build
# output (the out-of-tree build leaves its objects beside the sources).
sources() {
	(cd "$ROOT" && find drivers/gpu/drm/virtio_rs include/virtio_gpu_rs -type f \
		\( -name '*.rs' -o -name '*.c' -o -name '*.h' -o -name Kconfig -o -name Makefile \) \
		! -name bindings_generated.rs ! -name '*.mod.c' | sort)
}

# where FILE: a source file's place in the kernel tree (the headers go into the folder).
where() {
	case "$1" in
	include/*) echo "drivers/gpu/drm/virtio_rs/$1" ;;
	*) echo "$1" ;;
	esac
}

apply() {
	local tree=$1 f
	[ -f "$tree/drivers/gpu/drm/Kconfig" ] || die "$tree is not a kernel source tree"
	while read -r f; do
		sync_file "$ROOT/$f" "$tree/$(where "$f")"
	done < <(sources)
	# Files the folder no longer has; and the headers' old place in the tree's include/.
	rm -rf "$tree/include/virtio_gpu_rs"
	(cd "$tree" && find drivers/gpu/drm/virtio_rs -type f \
		\( -name '*.rs' -o -name '*.c' -o -name '*.h' \) ! -name bindings_generated.rs | sort) |
		comm -23 - <(sources | while read -r f; do where "$f"; done | sort) |
		while read -r f; do rm -f "$tree/$f"; done
	hook "$tree/drivers/gpu/drm/Kconfig" 'source "drivers/gpu/drm/virtio/Kconfig"' \
		'source "drivers/gpu/drm/virtio_rs/Kconfig"'
	hook "$tree/drivers/gpu/drm/Makefile" 'obj-$(CONFIG_DRM_VIRTIO_GPU) += virtio/' \
		'obj-$(CONFIG_DRM_VIRTIO_GPU_RS) += virtio_rs/'
}

variant_opts() {
	case "$1" in
	y) echo "DRM_VIRTIO_GPU_RS=y DRM_VIRTIO_GPU=m" ;;
	y-noc) echo "DRM_VIRTIO_GPU_RS=y DRM_VIRTIO_GPU=n" ;;
	m) echo "DRM_VIRTIO_GPU_RS=m DRM_VIRTIO_GPU=m" ;;
	*) die "variant '$1': want y, y-noc or m" ;;
	esac
}

# What a variant's build makes. The module variant builds its modules only: `make modules`
# (without MODVERSIONS) leaves vmlinux alone, whose built-in objects are those of the
# cached kernel, and nothing boots that image.
variant_goals() {
	case "$1" in
	m) echo modules ;;
	*) echo bzImage modules ;;
	esac
}

objdir() {
	variant_opts "$1" >/dev/null
	local base; base="$(VGRS_KERNEL=normal "$ROOT/tools/kernel.sh" kdir)"
	echo "$(dirname "$base")/intree-$1"
}

build() {
	local variant=$1 opts base src obj vars log t0 opt
	opts=$(variant_opts "$variant")
	[ -z "${KDIR:-}" ] || die "KDIR=$KDIR: the in-tree build uses the cached kernel only"
	VGRS_KERNEL=normal "$ROOT/tools/kernel.sh" build
	base="$(VGRS_KERNEL=normal "$ROOT/tools/kernel.sh" kdir)"
	src="$(VGRS_KERNEL=normal "$ROOT/tools/kernel.sh" srcdir)"
	vars="$("$ROOT/tools/kernel.sh" vars)"
	obj="$(objdir "$variant")"
	[ "$base" != "$src" ] || die "the cached kernel is not an O= build (tools/kernel.sh RECIPE)"
	# One build of a variant at a time: a second one waits, then finds it up to date
	# (.ci/run starts the builds early, in the background; make check-intree asks again).
	exec 8>"$(dirname "$base")/.intree-$variant.lock"
	if ! flock -n 8; then
		say "$variant: another build of it is running; waiting for it"
		flock 8
	fi
	# The copy and the shared source tree under a lock; the builds may then run side by side.
	exec 9>"$(dirname "$base")/.intree.lock"
	flock 9
	if [ ! -f "$obj/.vgrs-copied" ]; then
		say "$variant: copying the normal kernel's object tree to $obj (once per kernel)"
		rm -rf "$obj"
		cp -a "$base" "$obj.tmp"
		mv "$obj.tmp" "$obj"
		touch "$obj/.vgrs-copied"
	fi
	# Nothing to do when the driver's sources, the variant's options and the kernel's
	# configuration are those of the last good build (make would spend ~40 s finding out).
	local stamp
	stamp=$({ echo "$opts"; cat "$base/.config"; (cd "$ROOT" && sources | xargs sha256sum); } |
		sha256sum | cut -c1-16)
	if [ "$(cat "$obj/.vgrs-stamp" 2>/dev/null)" = "$stamp" ] && [ -f "$obj/arch/x86/boot/bzImage" ]; then
		say "$variant: up to date (sources and configuration as in the last build, $stamp)"
		echo "$obj"
		return
	fi
	rm -f "$obj/.vgrs-stamp"
	apply "$src"
	# The variant's options over the normal kernel's configuration.
	cp "$base/.config" "$obj/.config"
	for opt in $opts; do
		case "$opt" in
		*=n) "$src/scripts/config" --file "$obj/.config" --disable "${opt%=n}" ;;
		*=y) "$src/scripts/config" --file "$obj/.config" --enable "${opt%=y}" ;;
		*=m) "$src/scripts/config" --file "$obj/.config" --module "${opt%=m}" ;;
		esac
	done
	log="$obj/vgrs-build.log"
	: >"$log"
	# shellcheck disable=SC2086
	make -C "$src" O="$obj" $vars olddefconfig >>"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "olddefconfig failed (log: $log)"; }
	flock -u 9
	for opt in $opts; do
		case "$opt" in
		*=n) ! grep -Eq "^CONFIG_${opt%=n}=(y|m)" "$obj/.config" ||
			die "CONFIG_${opt%=n} is still set after olddefconfig" ;;
		*) grep -qx "CONFIG_$opt" "$obj/.config" ||
			die "CONFIG_$opt did not survive olddefconfig (a missing dependency?)" ;;
		esac
	done
	say "$variant: building ($opts) in $obj, incrementally (progress every 20 s)"
	t0=$(date +%s)
	local rc=0
	# shellcheck disable=SC2086
	with_progress "$log" "intree: $variant" \
		make -C "$src" O="$obj" $vars -j"${JOBS:-$(nproc)}" $(variant_goals "$variant") || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$log" >&2
		die "the $variant build failed (log: $log)"
	fi
	say "$variant: built in $(($(date +%s) - t0)) s: $(grep -cE '^  (CC|RUSTC|BINDGEN)' "$log") objects compiled"
	echo "$stamp" >"$obj/.vgrs-stamp"
	echo "$obj"
}

case "${1:-}" in
apply) [ $# -eq 2 ] || die "usage: $0 apply TREE"; apply "$2" ;;
build) [ $# -eq 2 ] || die "usage: $0 build y|y-noc|m"; build "$2" ;;
objdir) [ $# -eq 2 ] || die "usage: $0 objdir y|y-noc|m"; objdir "$2" ;;
*) die "usage: $0 apply TREE | build y|y-noc|m | objdir y|y-noc|m" ;;
esac
