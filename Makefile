# SPDX-License-Identifier: GPL-2.0
#
# virtio-gpu-rs: a Rust DRM/KMS driver for virtio-gpu. The user's entry point.
#
#   make            build virtio_gpu_rs.ko (installs dependencies and builds the kernel first)
#   make run        boot QEMU with the driver, show what it does, print a summary
#   make check      all tests; ends with "N passed, N failed"
#   make help       everything else
#
# When the kernel build system reads this directory (KERNELRELEASE set), it uses `Kbuild`.

SHELL := /bin/bash
ROOT := $(CURDIR)
BUILD := $(ROOT)/build
KVARS := $(shell $(ROOT)/tools/kernel.sh vars)
CLIPPY_DRIVER := /usr/bin/clippy-driver

# Extra module build flags: `make STRICT=1` (what `make check` uses) turns warnings into errors
# and runs clippy (Debian's clippy-driver, which reads crates built by Debian's rustc).
ifeq ($(STRICT),1)
MODFLAGS := CLIPPY=1 CLIPPY_DRIVER=$(CLIPPY_DRIVER) KRUSTFLAGS=-Dwarnings KCFLAGS=-Werror
endif

.DEFAULT_GOAL := modules
.PHONY: help deps kernel modules print-kdir initramfs run check check-debug check-intree igt fuzz fuzz-host bench profile host-test \
	fmt \
	fmt-check \
	clean distclean guest-tools

help:
	@echo "make            build virtio_gpu_rs.ko (deps and kernel first, as needed)"
	@echo "make deps       install missing Debian packages and bindgen (idempotent)"
	@echo "make kernel     build or reuse the cached Rust-enabled 6.12 kernel"
	@echo "make run        boot QEMU with our driver; DISPLAY_UI=gtk opens a window"
	@echo "make check      host tests, rustfmt, clippy -Dwarnings build, guest tests"
	@echo "make check-debug  guest tests on the debug kernel (KASAN, kmemleak, lockdep, ...);"
	@echo "                 DEBUG_C=1 adds the C driver's boot; CYCLES=100 FAULT_LIFECYCLE=1 the long run"
	@echo "make check-intree  the driver built into the kernel (and in-tree =m): builds, boots"
	@echo "make igt        igt-gpu-tools in the guest, both drivers (IGT_DIR=build or IGT_SRC=source)"
	@echo "make fuzz       long runs: host fuzz targets (HOST_FUZZ_RUNS), the ioctl fuzzer"
	@echo "                (FUZZ_SEEDS, FUZZ_ITERS), CYCLES load/unload"
	@echo "make fuzz-host  coverage-guided fuzzing of the device core on the host only"
	@echo "make bench      C driver vs ours in one boot: flips, uploads, buffers, memory"
	@echo "make profile    kernel functions and locks per 3D round trip, C driver vs ours (profile kernel)"
	@echo "make fmt        rustfmt the driver and host crates"
	@echo "make -s print-kdir   print the kernel build directory in use"
	@echo "KDIR=/path      use your own Rust-enabled 6.12 tree instead of the cached one"
	@echo "KVM=1           use KVM instead of TCG (hangs on some machines)"
	@echo "GL=1            make run on QEMU's 3D device (virgl, GL display under Xvfb)"

deps:
	@$(ROOT)/tools/deps.sh

kernel: deps
	@$(ROOT)/tools/kernel.sh build

print-kdir:
	@$(ROOT)/tools/kernel.sh kdir

modules: kernel
	@k="$$($(ROOT)/tools/kernel.sh kdir)"; \
	echo "module: building virtio_gpu_rs.ko against $$k$(if $(MODFLAGS), (strict: clippy, -Dwarnings))"; \
	$(MAKE) -C "$$k" M=$(ROOT) $(KVARS) CONFIG_DRM_VIRTIO_GPU_RS=m $(MODFLAGS) modules || \
	{ echo "module: build failed; see the errors above (make STRICT=1 also runs clippy)"; exit 1; }

guest-tools:
	@echo "guest: building guest test programs"
	@cargo build --release --quiet --workspace --bins

initramfs: modules guest-tools
	@$(ROOT)/qemu/mkinitramfs.sh "$$($(ROOT)/tools/kernel.sh kdir)" $(BUILD)/initramfs.cpio

run: initramfs
	@$(ROOT)/qemu/run.py --kdir "$$($(ROOT)/tools/kernel.sh kdir)" \
		--initrd $(BUILD)/initramfs.cpio --scenario run --outdir $(BUILD)/run \
		$(if $(DISPLAY_UI),--display $(DISPLAY_UI)) $(if $(KVM),--kvm) $(if $(GL),--gl) --summary \
		$(if $(VERBOSE),,--quiet)

# Benchmarks: the C driver and ours measured in the same boot, side by side (BENCH_SECS per
# figure). Numbers are reported, never asserted. Both boots keep the TSC as their clock
# (run.py --tsc: the host's TSC rate as tsc_early_khz, and tsc=reliable). Under TCG the
# kernel otherwise cannot calibrate it and falls back to jiffies, which tick every 4 ms and
# fall behind real time when the host is busy: a latency was rounded to a tick, and rates
# came out too high (glmark2 scored 31 on the jiffies clock and 10 on the TSC, 2026-11-29).
# BENCH_ROUNDS rounds per boot, each running both drivers (medians over the rounds).
BENCH_SECS ?= 3
BENCH_ROUNDS ?= 5
BENCH_ARGS = vgrs.bench_secs=$(BENCH_SECS) vgrs.bench_rounds=$(BENCH_ROUNDS)
bench: initramfs
	@$(ROOT)/qemu/run.py --kdir "$$($(ROOT)/tools/kernel.sh kdir)" \
		--initrd $(BUILD)/initramfs.cpio --scenario bench --outdir $(BUILD)/bench \
		--append "$(BENCH_ARGS)" --tsc --timeout $$((150 * $(BENCH_ROUNDS) + 300)) \
		$(if $(KVM),--kvm) --quiet
	@echo "bench: the 3D path on QEMU's GL device ($(BENCH_ROUNDS) rounds, medians)"
	@$(ROOT)/qemu/run.py --kdir "$$($(ROOT)/tools/kernel.sh kdir)" \
		--initrd $(BUILD)/initramfs.cpio --scenario bench-virgl --outdir $(BUILD)/bench-virgl \
		--append "$(BENCH_ARGS)" --tsc --gl --timeout $$((300 * $(BENCH_ROUNDS) + 300)) \
		$(if $(KVM),--kvm) --quiet

check: deps
	@$(ROOT)/tests/check.sh

# The guest scenarios under the debug kernel (KASAN, KFENCE, kmemleak, lockdep, UBSAN, ...),
# cached beside the normal kernel; `.ci/run` runs it after `make check`.
check-debug: deps
	@$(ROOT)/tests/check-debug.sh

# Counts, per EXECBUFFER + WAIT round trip, of the kernel functions and locks each driver
# uses, from one boot of the profile kernel (tools/profile.sh); not in CI.
profile: deps
	@$(ROOT)/tools/profile.sh

# The driver folder in the kernel tree: built in (C driver =m, and off) and as an in-tree
# module, with O= over the cached kernel's objects; the built-in kernel boots the scenarios.
check-intree: deps
	@$(ROOT)/tests/check-intree.sh

# igt-gpu-tools in the guest on both drivers, judged against tests/igt/*.txt; not in CI (a
# fresh machine has no igt: it skips). IGT_DIR / IGT_SRC say where igt comes from.
igt: deps
	@$(ROOT)/tests/igt.sh

# The long robustness runs, not in CI: the host fuzz targets, then tests/fuzz.sh: the ioctl
# fuzzer (a short run is in make check) with FUZZ_SEEDS seeds of three threads x FUZZ_ITERS
# ioctls, on the 2D and the 3D device, each driver in boots of its own (a QEMU stop in the C
# driver's is a NOTE: a known finding); then CYCLES load/use/unload cycles per driver.
FUZZ_SEEDS ?= 1,2,3,4,5,6,7,8,9,10
FUZZ_ITERS ?= 10000
CYCLES ?= 100
HOST_FUZZ_RUNS ?= 2000000
fuzz: fuzz-host initramfs
	@BUILD=$(BUILD) FUZZ_SEEDS=$(FUZZ_SEEDS) FUZZ_ITERS=$(FUZZ_ITERS) CYCLES=$(CYCLES) \
		KVM=$(KVM) $(ROOT)/tests/fuzz.sh

# Coverage-guided fuzzing of the device core on the host (stable toolchain, libFuzzer):
# HOST_FUZZ_RUNS cases per target, a random seed (printed); `make check` runs a short one.
fuzz-host:
	@$(ROOT)/tools/host-fuzz.sh $(HOST_FUZZ_RUNS) 0

host-test:
	cargo test --workspace

KERNEL_CRATES := $(ROOT)/drivers/gpu/drm/virtio_rs/virtio_gpu_main.rs \
	$(wildcard $(ROOT)/tests/host/fuzz/fuzz_targets/*.rs) \
	$(ROOT)/tests/kasan-canary/vgrs_kasan_canary.rs

fmt:
	rustfmt --edition 2021 $(KERNEL_CRATES)
	cargo fmt --all

fmt-check:
	rustfmt --check --color never --edition 2021 $(KERNEL_CRATES)
	cargo fmt --all -- --check --color never

clean:
	@k="$$($(ROOT)/tools/kernel.sh kdir)"; [ -d "$$k" ] && \
		$(MAKE) -C "$$k" M=$(ROOT) $(KVARS) CONFIG_DRM_VIRTIO_GPU_RS=m clean || true
	rm -rf $(BUILD)
	cargo clean

distclean: clean
	@echo "the cached kernel stays in $${XDG_CACHE_HOME:-$$HOME/.cache}/virtio-gpu-rs; remove it by hand"
