# SPDX-License-Identifier: GPL-2.0
#
# Guest scenario "fuzz": vgrs-fuzz (random ioctl sequences over the DRM core, KMS, GEM,
# syncobj and virtgpu ioctls, three threads, each with its own files, master and not, and the
# render node) on each driver, one run per seed; the run before the last has the device
# unbound and bound again under it, the last the PCI device removed and found again by a
# rescan (one seed: both). Then the driver must still show a picture (on the 3D device,
# run.py --gl: kmscube through virgl renders and moves), unload, and the kernel log must be
# clean (ours: a report fails; the C driver's are NOTEs, findings for the docs).
#
# vgrs.fuzz_seeds=1,2,3 picks the seeds (default 1,2), vgrs.fuzz_iters=N the ioctls per thread
# and seed (default 1000). Every run prints its seed and an errno histogram per ioctl
# (console log); `vgrs-fuzz --seed N --threads 1` replays one thread's sequence exactly.

fuzz_seeds=$(param fuzz_seeds "1 2")
fuzz_iters=$(param number fuzz_iters 1000)

# when_fuzzing PID: whether the fuzzer PID still runs, in words for the result line.
when_fuzzing() {
	if running "$1"; then
		echo "while the fuzzer ran"
	else
		echo "after the fuzzer ended (more iterations: vgrs.fuzz_iters)"
	fi
}

# fuzz_driver LABEL MODULE STRICT
fuzz_driver() {
	local label=$1 module=$2 strict=$3 seed last penult dev pid rc total=0 n why="" p pci removed_under="" unbound_under="" gl
	dmesg -c >/dev/null
	load "$label" "$module" || return
	dev=$(gpu_dev)
	# The 3D device (run.py --gl): the virtgpu calls reach contexts, submissions and fences.
	gl=""
	dmesg | grep -q 'features: .*+virgl' && gl=1
	# The device goes away under the last two seeds' runs: unbound and bound under the one
	# before the last, the PCI device removed and rescanned under the last (both under the
	# same run when there is one seed).
	penult="" last=""
	for seed in $fuzz_seeds; do
		penult=$last
		last=$seed
	done
	[ -n "$penult" ] || penult=$last
	for seed in $fuzz_seeds; do
		RUST_BACKTRACE=1 vgrs-fuzz --seed "$seed" --iters "$fuzz_iters" --threads 3 --label "$label" \
			>/tmp/fuzz.out 2>&1 &
		pid=$!
		if [ "$seed" = "$penult" ] && [ -n "$dev" ]; then
			# Across an unbind and a bind: the open files go stale (ENODEV), the runs reopen.
			# Soon after the start: a short run is over in about a second (well under one
			# with two CPUs).
			sleep 0.05
			unbound_under=$(when_fuzzing "$pid")
			bounded 60 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/unbind" ||
				why="${why}unbind during seed $seed failed or hung; "
			sleep 1
			bounded 60 sh -c "echo $dev > /sys/bus/virtio/drivers/$module/bind" ||
				why="${why}bind during seed $seed failed or hung; "
		fi
		if [ "$seed" = "$last" ] && [ -n "$dev" ]; then
			# The PCI device removed under the fuzzer (igt core_hotunplug's way) and found
			# again by a rescan; the still-loaded driver binds it.
			sleep 0.05
			pci=$(readlink -f "/sys/bus/virtio/devices/$(gpu_dev)/..")
			if [ -e "$pci/remove" ]; then
				removed_under=$(when_fuzzing "$pid")
				bounded 60 sh -c "echo 1 > $pci/remove" ||
					why="${why}PCI remove during seed $seed failed or hung; "
				sleep 1
				bounded 60 sh -c "echo 1 > /sys/bus/pci/rescan" ||
					why="${why}PCI rescan during seed $seed failed or hung; "
				wait_for /dev/dri/card0 30 || ls /dev/dri/card* >/dev/null 2>&1 ||
					why="${why}no DRM node after the PCI rescan; "
			else
				why="${why}no PCI device above $(gpu_dev); "
			fi
		fi
		wait_pid 600 "$pid"
		rc=$?
		sed "s/^/[$label fuzz] /" /tmp/fuzz.out
		n=$(sed -n 's/^FUZZ [^ ]* \([0-9]*\) ioctls.*/\1/p' /tmp/fuzz.out)
		if [ "$rc" = 0 ] && [ -n "$n" ]; then
			total=$((total + n))
		else
			why="${why}seed $seed: exit $rc: $(grep -v '^HIST' /tmp/fuzz.out | tail -n 2 | tr '\n' ' '); "
		fi
	done
	# Stale files kept the old minors while the device came back: load it afresh, so the
	# picture check opens card0 again.
	bounded 30 modprobe -r "$module" 2>/dev/null
	load "$label" "$module" || why="${why}the driver did not load again; "
	if [ -n "$gl" ]; then
		# On the 3D device the pictures are the X screen's, not pixel-exact: kmscube
		# through virgl must render and move instead.
		KMSCUBE_GBM=hw kmscube_run "$label-after-fuzz" 600
	elif show_start; then
		check_bars "$label" "$label-after-fuzz" "" 0
	else
		why="${why}no picture after the fuzzing: $(cat /tmp/show.err); "
	fi
	show_stop
	p=$(kernel_problems | head -n1)
	[ -n "$p" ] && why="${why}kernel: $p; "
	verdict "$label.fuzz" "$strict" "$why" "$total ioctls${gl:+ on the 3D device}, seeds $fuzz_seeds (3 threads each; unbound and bound $unbound_under; the PCI device removed and rescanned $removed_under), no kernel report"
	[ -z "$why" ] && info "$label.fuzz" "$total ioctls"
	unload "$label" "$module"
	problems "$label" fuzz-clean "$strict" "no kernel warnings after the fuzzing and unload"
	show_dmesg "$label"
}

each_driver fuzz fuzz_driver
