# SPDX-License-Identifier: GPL-2.0
#
# Shared by tests/check.sh and tests/check-debug.sh: the step/pass/fail/summary helpers and
# the guest boots.
#
# Boots run in two lanes side by side: a TCG guest keeps about one host core busy, and the
# machines have two. `boot` runs one boot and keeps its output; `report` prints a finished
# boot's output and counts its PASS/FAIL/SKIP/NOTE lines, so the results come out in a fixed
# order whatever the lanes' timing. GUEST_LANES=1 runs the boots one after another.

PASSED=0
FAILED=0
SKIPPED=0
NOTES=0
FAILURES=()

step() { printf '\n==== %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); FAILURES+=("$1"); printf 'FAIL %s\n' "$*"; }

summary() {
	printf '\n'
	if [ ${#FAILURES[@]} -gt 0 ]; then
		printf 'failed: %s\n' "${FAILURES[*]}"
	fi
	if [ "$NOTES" -gt 0 ]; then
		printf '%d findings, not failures: the C driver'"'"'s reports and the kernel'"'"'s own (NOTE lines above)\n' "$NOTES"
	fi
	if [ "$SKIPPED" -gt 0 ]; then
		printf '%d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
	else
		printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	fi
	[ "$FAILED" -eq 0 ]
}

# boot NAME SCENARIO [run.py options]: boots GUEST_KDIR with GUEST_INITRD and runs SCENARIO;
# the console log goes to GUEST_OUT/NAME, the output, exit status and seconds beside it.
boot() {
	local name=$1 scenario=$2 t0=$SECONDS rc
	shift 2
	echo "guest: $name started"
	qemu/run.py --kdir "$GUEST_KDIR" --initrd "$GUEST_INITRD" --scenario "$scenario" \
		--outdir "$GUEST_OUT/$name" --quiet "$@" >"$GUEST_OUT/$name.out" 2>&1
	rc=$?
	echo "$rc" >"$GUEST_OUT/$name.rc"
	echo "$((SECONDS - t0))" >"$GUEST_OUT/$name.secs"
	echo "guest: $name finished in $((SECONDS - t0)) s (exit $rc)"
}

# boot_lite NAME SCENARIO ARGS...: boot with the image without Mesa and glmark2
# (qemu/mkinitramfs.sh's OUT-lite.cpio), for the scenarios that render nothing with GL: the
# kernel unpacks a tenth of the bytes before /init (about 45 s less under the debug kernel).
boot_lite() {
	GUEST_INITRD="${GUEST_INITRD%.cpio}-lite.cpio" boot "$@"
}

# boot_share NAME SCENARIO ARGS...: the lite image, with what it leaves out (Mesa, glmark2's
# data) read over 9p (`run.py --share`): GL clients, without the unpacking. Not for boots
# that suspend (9p has no freeze/restore).
boot_share() {
	boot_lite "$@" --share "${GUEST_INITRD%.cpio}-gl"
}

# lanes FUNC...: runs each FUNC (a list of boots) in a lane of its own, side by side, and
# waits for all (one after another with GUEST_LANES=1).
lanes() {
	local f
	if [ "${GUEST_LANES:-2}" = 1 ]; then
		for f in "$@"; do "$f"; done
		return
	fi
	# Only the lanes: a caller's other background jobs (check-intree's builds) are its own.
	local pids=()
	for f in "$@"; do
		"$f" &
		pids+=($!)
	done
	wait "${pids[@]}"
}

# report NAME: prints the output of boot NAME and counts its results.
report() {
	local name=$1 out rc p f s n
	step "guest: $name (QEMU TCG; log in ${GUEST_OUT#"$ROOT/"}/$name/console.log)"
	out=$(cat "$GUEST_OUT/$name.out" 2>/dev/null)
	rc=$(cat "$GUEST_OUT/$name.rc" 2>/dev/null || echo 2)
	echo "$out" | grep -v '^run: booting'
	echo "(guest $name: $(cat "$GUEST_OUT/$name.secs" 2>/dev/null || echo '?') s)"
	p=$(echo "$out" | grep -c '^PASS ')
	f=$(echo "$out" | grep -c '^FAIL ')
	s=$(echo "$out" | grep -c '^SKIP ')
	n=$(echo "$out" | grep -c '^NOTE ')
	PASSED=$((PASSED + p))
	SKIPPED=$((SKIPPED + s))
	NOTES=$((NOTES + n))
	if [ "$f" -gt 0 ]; then
		FAILED=$((FAILED + f))
		FAILURES+=($(echo "$out" | sed -n "s/^FAIL \([^:]*\).*/$name:\1/p"))
	fi
	if [ "$rc" -ge 2 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		echo "$out" | tail -n 5
		fail "$name" "guest did not finish (exit $rc); see ${GUEST_OUT#"$ROOT/"}/$name/console.log"
	fi
}
