#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/igt-build.sh: builds the igt-gpu-tools tests `make igt` runs in the guest (core_*,
# kms_*, drm_* and igt_runner) from an igt source the user has, and stages them in a tree
# the guest image builder (qemu/mkinitramfs.sh, VGRS_IGT) copies as it is. igt's sources are
# not part of this project; this script only builds them, cached outside the clone.
#
# Usage:  IGT_SRC=<igt source tree | bare git dir> [IGT_REV=129d5b10b] tools/igt-build.sh
#         tools/igt-build.sh <igt source tree | bare git dir>
#
# igt 129d5b10b (2025-07) still treats the driver name virtio_gpu like any other; later igt
# releases exclude it. The build dependencies come from `tools/deps.sh igt`.
#
# Environment:
#   IGT_SRC    igt-gpu-tools source tree, or a (bare) git dir holding IGT_REV
#   IGT_REV    commit to extract when IGT_SRC is a git dir (default 129d5b10b)
#   IGT_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/virtio-gpu-rs)
#   IGT_JOBS   ninja -j value (default 2)
#   IGT_FORCE  set to 1 to rebuild and restage even if the stamp matches
#
# Result (KEY = 9-hex commit, or tree-<hash> for a non-git source tree):
#   $IGT_CACHE/igt-KEY.tar          pristine git archive (git-dir mode only)
#   $IGT_CACHE/igt-src-KEY/         extracted + patched source
#   $IGT_CACHE/igt-build-KEY/       meson build dir   (symlink igt-build -> it)
#   $IGT_CACHE/igt-stage-KEY/       staged tree       (symlink igt-stage -> it)
#       bin/igt_runner
#       libexec/igt-gpu-tools/<tests>, test-list.txt
#       lib/libigt.so.0, lib/libi915_perf.so.1.5
#       share/igt-gpu-tools/*.png
#       host-libs.txt               host shared libraries (non-glibc) to copy
#   The stage is laid out for prefix /usr: copy it to /usr in the guest
#   (IGT_DATADIR is compiled in as /usr/share/igt-gpu-tools).  Binaries carry
#   RUNPATH $ORIGIN/../../lib:$ORIGIN/../lib, so libexec/igt-gpu-tools/* and
#   bin/* both find lib/ wherever the tree is copied.

set -euo pipefail

IGT_SRC=${IGT_SRC:-${1:-}}
IGT_REV=${IGT_REV:-129d5b10b}
IGT_CACHE=${IGT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/virtio-gpu-rs}
IGT_JOBS=${IGT_JOBS:-2}
IGT_FORCE=${IGT_FORCE:-0}

# Anything that changes the build output must be in CONFIG; its hash is part
# of the stamp, so editing it forces a rebuild.
MESON_OPTS=(
	--prefix=/usr --libdir=lib
	-Dtests=enabled -Drunner=enabled -Dman=disabled -Ddocs=disabled
	-Doverlay=disabled -Dchamelium=disabled -Dvalgrind=disabled
	-Dtestplan=disabled
	'-Dc_link_args=-Wl,-rpath,$ORIGIN/../../lib'
)
TARGET_RE='^(tests/(core|kms|drm)_[A-Za-z0-9_]+|runner/igt_runner): '
DATA_FILES=(1080p-left.png 1080p-right.png pass.png)
# Shared objects provided by glibc itself (not listed in host-libs.txt).
GLIBC_RE='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|librt|libdl|libresolv|libutil|libanl|libnss_[a-z]+|libthread_db|libBrokenLocale)\.so'
CONFIG="v1 ${MESON_OPTS[*]} | $TARGET_RE | ${DATA_FILES[*]} | patch=acmgt-drop"

msg() { printf '[igt-build] %s\n' "$*" >&2; }
die() { msg "error: $*"; exit 1; }
now() { date +%s; }

[ -n "$IGT_SRC" ] || die "set IGT_SRC (igt source tree or bare git dir)"
[ -e "$IGT_SRC" ] || die "IGT_SRC=$IGT_SRC does not exist"
IGT_SRC=$(cd "$IGT_SRC" && pwd -P)

check_deps() {
	local missing=() p
	for p in meson ninja pkg-config python3 flex bison peg ldd; do
		command -v "$p" >/dev/null || missing+=("$p")
	done
	for p in libdrm libkmod libproc2 libdw pciaccess cairo libudev \
		 libunwind pixman-1 json-c gsl; do
		pkg-config --exists "$p" 2>/dev/null || missing+=("pkg:$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		msg "missing build dependencies: ${missing[*]}; run 'tools/deps.sh igt' (make igt does)"
		exit 1
	fi
}

# Drop the Alchemist (acmgt1-3) i915 OA configs: their XML blobs are missing
# from the mirror snapshot, and nothing here needs them.  Idempotent.
patch_src() {
	local src=$1
	if [ -f "$src/lib/i915/perf-configs/oa-acmgt1.xml" ]; then
		msg "acmgt OA configs present, no patch needed"
		return
	fi
	grep -q "i915_perf_metrics_acmgt1.h" "$src/lib/i915/perf.c" || return 0
	msg "patching out i915 acmgt1-3 perf configs (blobs absent)"
	python3 - "$src" <<'EOF'
import re, sys, pathlib
root = pathlib.Path(sys.argv[1])
mb = root / "lib/meson.build"
t = mb.read_text()
m = re.search(r"i915_perf_hardware = \[(.*?)\]", t, re.S)
if not m:
    sys.exit("i915_perf_hardware list not found in lib/meson.build")
blk = m.group(0)
nb = re.sub(r"\n[ \t]*'acmgt1', 'acmgt2', 'acmgt3',[ \t]*(?=\n)", "", blk)
if "acmgt" in nb:
    sys.exit("could not drop acmgt from i915_perf_hardware")
mb.write_text(t.replace(blk, nb, 1))
pc = root / "lib/i915/perf.c"
t = pc.read_text()
t = re.sub(r'#include "i915_perf_metrics_acmgt[123]\.h"\n', "", t)
t, n = re.subn(
    r"if \(is_acm_gt1\(&perf->devinfo\)\)\n\s*intel_perf_load_metrics_acmgt1\(perf\);\n"
    r"\s*else if \(is_acm_gt2\(&perf->devinfo\)\)\n\s*intel_perf_load_metrics_acmgt2\(perf\);\n"
    r"\s*else if \(is_acm_gt3\(&perf->devinfo\)\)\n\s*intel_perf_load_metrics_acmgt3\(perf\);\n"
    r"\s*else\n\s*(return unsupported_i915_perf_platform\(perf\);)", r"\1", t)
if n != 1 or "metrics_acmgt" in t:
    sys.exit("could not drop acmgt loads from lib/i915/perf.c")
pc.write_text(t)
EOF
}

# ---- 1. resolve the source: sets KEY, COMMIT, SRC -------------------------
mkdir -p "$IGT_CACHE"
if git --git-dir="$IGT_SRC" rev-parse --git-dir >/dev/null 2>&1 &&
   [ ! -f "$IGT_SRC/meson.build" ]; then
	COMMIT=$(git --git-dir="$IGT_SRC" rev-parse --verify -q "$IGT_REV^{commit}") ||
		die "commit $IGT_REV not found in git dir $IGT_SRC"
	KEY=${COMMIT:0:9}
	SRC=$IGT_CACHE/igt-src-$KEY
	TAR=$IGT_CACHE/igt-$KEY.tar
	msg "source: git dir $IGT_SRC, commit $COMMIT"
	if [ ! -s "$TAR" ]; then
		msg "archiving $KEY -> $TAR (without lib/i915/perf-configs/oa-acmgt*)"
		# git may print "invalid object" for the excluded missing blobs;
		# the exit status and the content check below are what count.
		git --git-dir="$IGT_SRC" archive --format=tar "$COMMIT" -- . \
			':(exclude)lib/i915/perf-configs/oa-acmgt*' > "$TAR.tmp" 2> "$TAR.err" ||
			{ cat "$TAR.err" >&2; die "git archive failed"; }
		grep -v "invalid object .*oa-acmgt" "$TAR.err" >&2 || true
		rm -f "$TAR.err"
		tar tf "$TAR.tmp" | grep -x tests/drm_virtgpu.c >/dev/null ||
			die "archive lacks tests/drm_virtgpu.c"
		mv "$TAR.tmp" "$TAR"
	else
		msg "reusing archive $TAR"
	fi
	if [ ! -f "$SRC/.igt-build-source" ]; then
		msg "extracting into $SRC"
		rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
		tar xf "$TAR" -C "$SRC.tmp"
		patch_src "$SRC.tmp"
		printf 'commit=%s\n' "$COMMIT" > "$SRC.tmp/.igt-build-source"
		rm -rf "$SRC" && mv "$SRC.tmp" "$SRC"
	else
		msg "reusing extracted source $SRC"
	fi
elif [ -f "$IGT_SRC/meson.build" ] && [ -f "$IGT_SRC/tests/drm_virtgpu.c" ]; then
	if [ -f "$IGT_SRC/.igt-build-source" ]; then
		# a tree this script extracted earlier (already patched)
		COMMIT=$(sed -n 's/^commit=//p' "$IGT_SRC/.igt-build-source")
		KEY=${COMMIT:0:9}
		SRC=$IGT_SRC
		msg "source: extracted tree $SRC, commit $COMMIT"
	else
		# foreign tree: key by content, build from a patched private copy
		msg "source: tree $IGT_SRC, hashing content"
		HASH=$(cd "$IGT_SRC" && find . -path ./.git -prune -o -type f -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum)
		COMMIT=tree-${HASH:0:12}
		KEY=$COMMIT
		SRC=$IGT_CACHE/igt-src-$KEY
		if [ ! -f "$SRC/.igt-build-source" ]; then
			msg "copying into $SRC"
			rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
			tar -C "$IGT_SRC" --exclude=./.git -cf - . | tar -C "$SRC.tmp" -xf -
			patch_src "$SRC.tmp"
			printf 'commit=%s\n' "$COMMIT" > "$SRC.tmp/.igt-build-source"
			rm -rf "$SRC" && mv "$SRC.tmp" "$SRC"
		fi
	fi
else
	die "IGT_SRC=$IGT_SRC is neither a git dir nor an igt source tree"
fi

BUILD=$IGT_CACHE/igt-build-$KEY
STAGE=$IGT_CACHE/igt-stage-$KEY
STAMP="commit=$COMMIT config=$(printf '%s' "$CONFIG" | sha256sum | cut -c1-16)"

link_current() {
	ln -sfn "$(basename "$BUILD")" "$IGT_CACHE/igt-build"
	ln -sfn "$(basename "$STAGE")" "$IGT_CACHE/igt-stage"
}

if [ "$IGT_FORCE" != 1 ] && [ -f "$STAGE/.igt-stamp" ] &&
   [ "$(cat "$STAGE/.igt-stamp")" = "$STAMP" ]; then
	link_current
	msg "up to date: $STAGE ($STAMP)"
	exit 0
fi

check_deps

# ---- 2. configure and build ---------------------------------------------
if [ "$IGT_FORCE" = 1 ] || [ ! -f "$BUILD/.igt-stamp" ] ||
   [ "$(cat "$BUILD/.igt-stamp")" != "$STAMP" ]; then
	msg "configuring $BUILD"
	rm -rf "$BUILD"
	t0=$(now)
	meson setup "$BUILD" "$SRC" "${MESON_OPTS[@]}" -Dversion_hash="$KEY" \
		> "$IGT_CACHE/igt-setup-$KEY.log" 2>&1 ||
		{ tail -30 "$IGT_CACHE/igt-setup-$KEY.log" >&2; die "meson setup failed"; }
	msg "configured in $(( $(now) - t0 )) s (log: $IGT_CACHE/igt-setup-$KEY.log)"
	printf '%s\n' "$STAMP" > "$BUILD/.igt-stamp"
fi

mapfile -t TARGETS < <(ninja -C "$BUILD" -t targets all | grep -E "$TARGET_RE" |
	cut -d: -f1 | LC_ALL=C sort)
[ ${#TARGETS[@]} -gt 0 ] || die "no targets matched $TARGET_RE"
printf '%s\n' "${TARGETS[@]}" | grep -x tests/drm_virtgpu >/dev/null || die "no tests/drm_virtgpu target"
printf '%s\n' "${TARGETS[@]}" | grep -x runner/igt_runner >/dev/null || die "no runner/igt_runner target"

msg "building ${#TARGETS[@]} targets with ninja -j$IGT_JOBS (niced)"
t0=$(now)
nice -n 10 ninja -C "$BUILD" -j"$IGT_JOBS" "${TARGETS[@]}"
msg "built in $(( $(now) - t0 )) s"

# ---- 3. stage ----------------------------------------------------------------
msg "staging into $STAGE"
rm -rf "$STAGE.tmp"
mkdir -p "$STAGE.tmp"/{bin,lib,libexec/igt-gpu-tools,share/igt-gpu-tools}
TESTS=()
for t in "${TARGETS[@]}"; do
	case $t in
	runner/igt_runner) install -m 0755 "$BUILD/$t" "$STAGE.tmp/bin/" ;;
	*) install -m 0755 "$BUILD/$t" "$STAGE.tmp/libexec/igt-gpu-tools/"
	   TESTS+=("${t#tests/}") ;;
	esac
done
# igt_runner needs test-list.txt in the test root; list only what we stage.
(
	echo TESTLIST
	printf '%s' "${TESTS[0]}"; printf ' %s' "${TESTS[@]:1}"; printf '\n'
	echo "END TESTLIST"
) > "$STAGE.tmp/libexec/igt-gpu-tools/test-list.txt"
for f in "${DATA_FILES[@]}"; do
	install -m 0644 "$SRC/tests/$f" "$STAGE.tmp/share/igt-gpu-tools/"
done

# Shared libraries: those from the build tree go to lib/, the host ones
# (beyond glibc) are listed in host-libs.txt for the initramfs builder.
# ldd runs on the build-tree binaries, so RUNPATH finds the build's libs.
declare -A HOSTLIBS=()
BUILD_REAL=$(cd "$BUILD" && pwd -P)
for t in "${TARGETS[@]}"; do
	while read -r name _ path _; do
		[ -n "${path:-}" ] || continue
		case $path in
		"$BUILD_REAL"/*|"$BUILD"/*)
			[ -e "$STAGE.tmp/lib/$name" ] ||
				cp -L "$path" "$STAGE.tmp/lib/$name" ;;
		/*)
			[[ $name =~ $GLIBC_RE ]] || HOSTLIBS[$path]=1 ;;
		esac
	done < <(ldd "$BUILD/$t" | awk '$2 == "=>" { print $1, $2, $3, $4 }')
	if ldd "$BUILD/$t" | grep "not found" >&2; then
		die "$t has unresolved libraries"
	fi
done
printf '%s\n' "${!HOSTLIBS[@]}" | LC_ALL=C sort > "$STAGE.tmp/host-libs.txt"

# Check that the staged copies resolve libigt through their RUNPATH.
for b in "$STAGE.tmp/libexec/igt-gpu-tools/drm_virtgpu" "$STAGE.tmp/bin/igt_runner"; do
	out=$(ldd "$b" | awk '$1 == "libigt.so.0" { print $3 }')
	[ -n "$out" ] && [ "$(realpath "$out")" = "$(realpath "$STAGE.tmp/lib/libigt.so.0")" ] ||
		die "staged $(basename "$b") does not resolve libigt.so.0 from the stage"
done

printf '%s\n' "$STAMP" > "$STAGE.tmp/.igt-stamp"
rm -rf "$STAGE" && mv "$STAGE.tmp" "$STAGE"
link_current
msg "staged ${#TESTS[@]} tests + igt_runner in $STAGE"
msg "stage libs: $(cd "$STAGE/lib" && echo *)"
msg "host libs to copy: $(wc -l < "$STAGE/host-libs.txt") (see $STAGE/host-libs.txt)"
