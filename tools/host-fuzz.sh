#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Coverage-guided fuzzing of the device core's pure parts on the host, with the installed
# stable toolchain: libFuzzer (built by the libfuzzer-sys crate with the system C++ compiler)
# and rustc's SanitizerCoverage pass (`-C passes=sancov-module`, a stable codegen option), so
# neither nightly nor cargo-fuzz is needed. Overflow checks and debug assertions are on, as
# in the kernel's Rust.
#
#   tools/host-fuzz.sh [RUNS] [SEED]   RUNS cases per target (default 1000000); SEED 0 = random
#
# Targets (tests/host/fuzz/fuzz_targets): protocol (every response parser, structure-aware:
# short, grown, wrong-type, error, wrong-fence and out-of-range answers), fences (answers
# late, repeated, out of order or for unknown ids, against a reference model). The corpus
# grows in build/host-fuzz/corpus/<target>; a crash leaves its input in
# build/host-fuzz/artifacts/ and the command to replay it is printed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${1:-1000000}"
SEED="${2:-0}"
OUT="$ROOT/build/host-fuzz"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/host-fuzz"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
TARGETS=(protocol fences)
# Longest input per target: a capset answer of 2 KiB; 256 fence operations.
declare -A MAX_LEN=([protocol]=4096 [fences]=512)

mkdir -p "$OUT/artifacts"
echo "host-fuzz: building ${TARGETS[*]} with $(rustc --version) and libFuzzer (sancov)"
# --target keeps RUSTFLAGS off the build scripts, which must not be instrumented.
if ! (cd "$ROOT/tests/host/fuzz" &&
	RUSTFLAGS="-Cpasses=sancov-module \
		-Cllvm-args=-sanitizer-coverage-level=4 \
		-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
		-Cllvm-args=-sanitizer-coverage-pc-table \
		-Cllvm-args=-sanitizer-coverage-trace-compares \
		--cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
		CARGO_TARGET_DIR="$TARGET_DIR" \
		cargo build --release --quiet --target "$TRIPLE" --bins); then
	echo "host-fuzz: the fuzz targets did not build; see the errors above (libFuzzer needs a C++ compiler: apt-get install g++)"
	exit 1
fi

failed=0
for t in "${TARGETS[@]}"; do
	mkdir -p "$OUT/corpus/$t"
	log="$OUT/$t.log"
	start=$(date +%s)
	if "$TARGET_DIR/$TRIPLE/release/$t" -runs="$RUNS" -seed="$SEED" -max_len="${MAX_LEN[$t]}" \
		-print_final_stats=1 -artifact_prefix="$OUT/artifacts/$t-" \
		"$OUT/corpus/$t" >"$log" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2 || true)
	corpus=$(find "$OUT/corpus/$t" -type f | wc -l)
	used_seed=$(sed -n 's/.*Seed: \([0-9]*\).*/\1/p' "$log" | head -n 1)
	if [ "$rc" -eq 0 ] && [ "${execs:-0}" -ge "$RUNS" ]; then
		echo "host-fuzz $t: ${execs} cases in ${secs} s, coverage ${cov:-?} edges, corpus $corpus inputs, seed $used_seed, no crash"
	else
		failed=1
		grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -n 8 || true
		echo "host-fuzz $t: FAILED after ${execs:-?} cases (exit $rc, seed $used_seed; log $log)"
		echo "  replay: $TARGET_DIR/$TRIPLE/release/$t $(ls "$OUT/artifacts/$t-"* 2>/dev/null | tail -n 1)"
	fi
done
exit "$failed"
