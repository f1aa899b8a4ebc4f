// SPDX-License-Identifier: GPL-2.0
//! The 3D checks of `vgrs-uapi-test` (QEMU's `virtio-vga-gl`, virgl on the host): capsets,
//! a file's context, EXECBUFFER with fences and syncobjs, PRIME sharing of 3D resources,
//! closing a file with work in flight, a fence outliving its driver, and the submission
//! benchmarks.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::time::Instant;

use vgrs_guest::report::{err_name, Report};
use vgrs_guest::virtgpu;

use crate::{open_rw, outcome, resource_2d, transfer, wait_for_file, BAD_HANDLE};

/// 64-bit FNV-1a of `data`: a short fingerprint to compare capsets between drivers.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The 3D device (`virtio-vga-gl`): the capset ids GETPARAM reports, each capset's data (a
/// fingerprint the scenario compares between the drivers), a short copy being the start of
/// the whole, and GET_CAPS's errnos.
pub(crate) fn check_virgl(r: &mut Report, fd: BorrowedFd<'_>, render: &Path) {
    let mask = r.ok(
        "virgl/capset-ids",
        "GETPARAM SUPPORTED_CAPSET_IDs",
        virtgpu::getparam(fd, 7),
    );
    if let Some(mask) = mask {
        r.check(
            "virgl/capset-ids",
            mask & 0b110 == 0b110,
            format!("mask {mask:#x} (QEMU's virgl offers capsets 1 and 2)"),
        );
    }
    // QEMU 7.2: VIRGL (id 1) is 308 bytes, VIRGL2 (id 2) 1376; ask for more, get the size.
    let mut full = vec![0u8; 4096];
    for (id, size) in [(1u32, 308usize), (2, 1376)] {
        let name = format!("virgl/get-caps-{id}");
        full.fill(0);
        if r.ok(
            &name,
            &format!("GET_CAPS {id} v0 4096 bytes"),
            virtgpu::get_caps(fd, id, 0, &mut full),
        )
        .is_some()
        {
            let data = &full[..size];
            let nonzero = data.iter().filter(|&&b| b != 0).count();
            let tail_zero = full[size..].iter().all(|&b| b == 0);
            r.check(
                &name,
                nonzero > 0 && tail_zero,
                format!(
                    "capset {id} v0: {size} bytes, fnv {:#018x}, {nonzero} nonzero, nothing past {size}: {tail_zero}",
                    fnv(data)
                ),
            );
        }
    }
    let mut small = [0u8; 16];
    if r.ok(
        "virgl/get-caps-short",
        "GET_CAPS 2 v0 16 bytes",
        virtgpu::get_caps(fd, 2, 0, &mut small),
    )
    .is_some()
    {
        let mut whole = vec![0u8; 1376];
        let same = virtgpu::get_caps(fd, 2, 0, &mut whole).is_ok() && whole[..16] == small;
        r.check(
            "virgl/get-caps-short",
            same,
            format!("16 bytes, the start of the whole capset: {same}"),
        );
    }
    check_virgl_context(r, render);
    check_virgl_exec(r, fd);
    check_virgl_prime(r, fd, render);
    check_virgl_close_in_flight(r, render);
    let mut buf = [0u8; 64];
    r.errno(
        "virgl/get-caps-size0",
        "GET_CAPS 2 v0 size 0",
        virtgpu::get_caps(fd, 2, 0, &mut buf[..0]),
    );
    r.errno(
        "virgl/get-caps-bad-id",
        "GET_CAPS id 9",
        virtgpu::get_caps(fd, 9, 0, &mut buf),
    );
    r.errno(
        "virgl/get-caps-bad-version",
        "GET_CAPS 2 v99",
        virtgpu::get_caps(fd, 2, 99, &mut buf),
    );
    r.errno(
        "virgl/get-caps-efault",
        "GET_CAPS 2 v0 to an unmapped address",
        virtgpu::get_caps_unmapped(fd, 2, 0, 64),
    );
}

/// PRIME sharing of a 3D resource, as Mesa shares buffers between processes (GBM surfaces,
/// DRI3): the object exported as a dma-buf comes back as the same handle in its own file and
/// as a new handle to the same host resource in another file, and outlives the exporter's
/// handle and the dma-buf: the other file still transfers to it, waits on it and submits with
/// it (its context has the resource attached).
fn check_virgl_prime(r: &mut Report, fd: BorrowedFd<'_>, render: &Path) {
    let name = "virgl/prime-3d";
    let mut rc = resource_2d();
    if r.ok(
        name,
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_none()
    {
        return;
    }
    let shared = (|| -> Result<String, String> {
        let e = |what: &str, err: io::Error| format!("{what}: {}", err_name(&err));
        let buf =
            virtgpu::prime_export(fd, rc.bo_handle).map_err(|x| e("PRIME_HANDLE_TO_FD", x))?;
        let again =
            virtgpu::prime_import(fd, buf.as_fd()).map_err(|x| e("FD_TO_HANDLE (own file)", x))?;
        if again != rc.bo_handle {
            return Err(format!("own file: handle {again}, not {}", rc.bo_handle));
        }
        let other = open_rw(render).map_err(|x| e("open the render node", x))?;
        let h = virtgpu::prime_import(other.as_fd(), buf.as_fd())
            .map_err(|x| e("FD_TO_HANDLE (other file)", x))?;
        let mut info = virtgpu::ResourceInfo {
            bo_handle: h,
            ..Default::default()
        };
        virtgpu::resource_info(other.as_fd(), &mut info)
            .map_err(|x| e("RESOURCE_INFO (other file)", x))?;
        if info.res_handle != rc.res_handle || info.size != rc.size {
            return Err(format!(
                "other file: resource {} size {}, not {} size {}",
                info.res_handle, info.size, rc.res_handle, rc.size
            ));
        }
        // The exporter lets go of both its handle and the dma-buf: the import keeps the object.
        drop(buf);
        drm_ffi::gem::close(fd, rc.bo_handle).map_err(|x| e("GEM_CLOSE (exporter)", x))?;
        let mut t = transfer(h);
        virtgpu::transfer_to_host(other.as_fd(), &mut t)
            .map_err(|x| e("TRANSFER_TO_HOST (importer)", x))?;
        let mut w = virtgpu::Wait {
            handle: h,
            flags: 0,
        };
        virtgpu::wait(other.as_fd(), &mut w).map_err(|x| e("WAIT (importer)", x))?;
        let bos = [h];
        let x = virtgpu::Exec {
            bos: &bos,
            fence_fd: -1,
            ..Default::default()
        };
        virtgpu::execbuffer(other.as_fd(), &x).map_err(|x| e("EXECBUFFER with the import", x))?;
        virtgpu::wait(other.as_fd(), &mut w).map_err(|x| e("WAIT after EXECBUFFER", x))?;
        drm_ffi::gem::close(other.as_fd(), h).map_err(|x| e("GEM_CLOSE (importer)", x))?;
        Ok(format!(
            "resource {} exported, same handle back in its file, handle {h} in another file (same resource, {} bytes); after the exporter closed handle and dma-buf: transfer, wait, EXECBUFFER ok",
            rc.res_handle, info.size
        ))
    })();
    match shared {
        Ok(detail) => r.pass(name, detail),
        Err(why) => {
            let _ = drm_ffi::gem::close(fd, rc.bo_handle);
            r.fail(name, why)
        }
    }
}

/// Closing a file with work in flight: a file reads a 64 MiB resource back from the host a
/// few times (TRANSFER_FROM_HOST_3D, the host writing into the object's pages), submits an
/// EXECBUFFER on it and reads it back as many times again, keeps only that submission's
/// sync_file and is closed at once: its context is destroyed and its objects freed while the
/// host is still working. The kept fence must
/// still signal, without an error. Work is in flight at close if the kept fence is still
/// pending, or if the object is still busy (a readback not done: the host copies into pages
/// the close is about to free) when it is checked right before the close. Rounds go on until
/// two of them closed with work in flight (eight at most; a round without doubles the
/// readbacks of the next, up to 32, for slow guests); the check fails if none did: the test
/// would be empty. The scenario checks the kernel log afterwards.
fn check_virgl_close_in_flight(r: &mut Report, render: &Path) {
    let name = "virgl/close-in-flight";
    // A debug build of our driver can delay its completion work (`completion_delay_ms`): a
    // guest under KASAN is too slow for the host to be still working at close otherwise.
    let delay = DelayKnob::set(200);
    let delayed = delay.0;
    const SIDE: u32 = 4096;
    let mut reads = 4usize;
    let (mut pending, mut busy, mut round) = (0, 0, 0);
    // Rounds that closed with the object still busy, and with work in flight either way.
    let (mut busy_close, mut in_flight) = (0, 0);
    // At least three rounds; more (up to eight) until two closed with work in flight.
    while round < 3 || (in_flight < 2 && round < 8) {
        round += 1;
        let Some(f) = r.ok(name, "open the render node", open_rw(render)) else {
            return;
        };
        let mut rc = virtgpu::ResourceCreate {
            width: SIDE,
            height: SIDE,
            size: SIDE * SIDE * 4,
            stride: SIDE * 4,
            ..resource_2d()
        };
        if r.ok(
            name,
            "RESOURCE_CREATE 4096x4096",
            virtgpu::resource_create(f.as_fd(), &mut rc),
        )
        .is_none()
        {
            return;
        }
        let mut t = virtgpu::Transfer {
            bo_handle: rc.bo_handle,
            bx: virtgpu::Box3d {
                w: SIDE,
                h: SIDE,
                d: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        if let Err(why) = read_back(f.as_fd(), &mut t, reads) {
            r.fail(name, format!("round {round}: {why}"));
            return;
        }
        let mut w = virtgpu::Wait {
            handle: rc.bo_handle,
            flags: virtgpu::WAIT_NOWAIT,
        };
        if virtgpu::wait(f.as_fd(), &mut w).is_err() {
            busy += 1;
        }
        let bos = [rc.bo_handle];
        let x = virtgpu::Exec {
            bos: &bos,
            fence_fd: -1,
            ..Default::default()
        };
        let Some(ffd) = r.ok(
            name,
            "EXECBUFFER with FENCE_FD_OUT",
            virtgpu::execbuffer_fence_out(f.as_fd(), &x),
        ) else {
            return;
        };
        // More readbacks behind the submission: the host still copies into the object's
        // pages when the file closes, even if it already finished the submission.
        if let Err(why) = read_back(f.as_fd(), &mut t, reads) {
            r.fail(name, format!("round {round}, after the submission: {why}"));
            return;
        }
        let fence_pending = matches!(virtgpu::sync_file_info(ffd.as_fd()), Ok((0, _)));
        w.flags = virtgpu::WAIT_NOWAIT;
        let busy_now = virtgpu::wait(f.as_fd(), &mut w).is_err();
        pending += usize::from(fence_pending);
        busy_close += usize::from(busy_now);
        if fence_pending || busy_now {
            in_flight += 1;
        } else {
            // The host was faster than this guest (a debug kernel is slow): more work next.
            reads = (reads * 2).min(32);
        }
        drop(f);
        if !poll_in(ffd.as_fd()) {
            r.fail(
                name,
                format!("round {round}: the last fence did not signal in 5 s after close"),
            );
            return;
        }
        match virtgpu::sync_file_info(ffd.as_fd()) {
            Ok((1, _)) => {}
            Ok((status, info)) => {
                r.fail(
                    name,
                    format!(
                        "round {round}: fence status {status} (fence {})",
                        info.status
                    ),
                );
                return;
            }
            Err(e) => {
                r.fail(
                    name,
                    format!("round {round}: SYNC_IOC_FILE_INFO: {}", err_name(&e)),
                );
                return;
            }
        }
    }
    drop(delay);
    // The point is work in flight at close: a host that finished everything every time made
    // the test empty.
    r.check(
        name,
        in_flight > 0,
        format!("{round} rounds of 64 MiB readbacks (2 x 4 to 2 x {reads} per round) around a submission, file closed at once (object busy after the readbacks in {busy}; at close, the object busy in {busy_close}, the last fence pending in {pending}{}): every last fence signalled without error", if delayed { "; completions delayed 200 ms by the debug knob" } else { "" }),
    );
}

/// The debug build's `completion_delay_ms` parameter, set while this lives (`.0`: it was set;
/// not on the C driver or a normal build).
struct DelayKnob(bool);

impl DelayKnob {
    const PATH: &'static str = "/sys/module/virtio_gpu_rs/parameters/completion_delay_ms";

    fn set(ms: u32) -> Self {
        let p = Path::new(Self::PATH);
        Self(p.exists() && std::fs::write(p, ms.to_string()).is_ok())
    }
}

impl Drop for DelayKnob {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::fs::write(Self::PATH, "0");
        }
    }
}

/// A file's 3D context, as the host sees it (the scenario reads QEMU's trace afterwards): a
/// new file creates a buffer object (its context is created and the object attached), closes
/// the handle (detached) and is closed (the context destroyed).
fn check_virgl_context(r: &mut Report, render: &Path) {
    let name = "virgl/context";
    let Some(f) = r.ok(name, "open the render node", open_rw(render)) else {
        return;
    };
    let mut rc = resource_2d();
    if r.ok(
        name,
        "RESOURCE_CREATE 64x64",
        virtgpu::resource_create(f.as_fd(), &mut rc),
    )
    .is_none()
    {
        return;
    }
    let closed = drm_ffi::gem::close(f.as_fd(), rc.bo_handle);
    drop(f);
    r.check(
        name,
        closed.is_ok(),
        format!(
            "new file: resource {} created, handle closed ({}), file closed",
            rc.res_handle,
            outcome(&closed, "ok")
        ),
    );
}

/// An empty submission that asks for an out fence.
const FENCE_OUT: virtgpu::Exec<'static> = virtgpu::Exec {
    flags: virtgpu::EXECBUF_FENCE_FD_OUT,
    cmds: &[],
    bos: &[],
    fence_fd: -1,
    ring_idx: 0,
    ins: &[],
    outs: &[],
};

/// Opens the render node and submits [`FENCE_OUT`] (the file's first submission makes its
/// context); the file and the sync_file, or `None` with the failure reported as `name`.
fn fenced_submission(r: &mut Report, name: &str, render: &Path) -> Option<(File, OwnedFd)> {
    let f = r.ok(name, "open the render node", open_rw(render))?;
    let ffd = r.ok(
        name,
        "EXECBUFFER with FENCE_FD_OUT",
        virtgpu::execbuffer_fence_out(f.as_fd(), &FENCE_OUT),
    )?;
    Some((f, ffd))
}

/// `n` readbacks (TRANSFER_FROM_HOST) of `t`; the first failure as text.
fn read_back(fd: BorrowedFd<'_>, t: &mut virtgpu::Transfer, n: usize) -> Result<(), String> {
    for i in 0..n {
        virtgpu::transfer_from_host(fd, t)
            .map_err(|e| format!("TRANSFER_FROM_HOST {i}: {}", err_name(&e)))?;
    }
    Ok(())
}

/// A fence that outlives its driver: submits with an out fence, closes the DRM file, keeps
/// only the sync_file, prints HOLDING and waits for `until` (meanwhile the scenario unbinds the
/// device and tries to unload the module), then asks the sync_file for its fence's driver and
/// timeline names (`SYNC_IOC_FILE_INFO` calls the fence's ops, which live in the module).
pub(crate) fn hold_fence(r: &mut Report, render: &Path, until: &Path) {
    let name = "fence-hold/setup";
    let Some((f, ffd)) = fenced_submission(r, name, render) else {
        return;
    };
    drop(f);
    r.pass(name, "sync_file of a submission held, DRM file closed");
    eprintln!("HOLDING");
    if !wait_for_file(r, "fence-hold/wait", until, 60) {
        return;
    }
    match virtgpu::sync_file_info(ffd.as_fd()) {
        Ok((status, info)) => r.check(
            "fence-hold/info-after-unbind",
            status != 0 && cstr(&info.driver_name) == "virtio_gpu",
            format!(
                "SYNC_IOC_FILE_INFO after unbind: status {status}, driver '{}', timeline '{}'",
                cstr(&info.driver_name),
                cstr(&info.obj_name)
            ),
        ),
        Err(e) => r.fail(
            "fence-hold/info-after-unbind",
            format!("SYNC_IOC_FILE_INFO: {}", err_name(&e)),
        ),
    }
    drop(ffd);
    r.pass("fence-hold/close", "sync_file closed");
}

/// `--fence-hang FILE` (ours, the virgl scenario): a fenced submission nobody in the kernel
/// waits for, on a device that stopped answering. A first submission makes the context and
/// must signal; then READY (on stderr) and a wait for FILE, meanwhile the scenario makes the
/// device drop every answer (debugfs `vgrs_drop_responses`) with `cmd_timeout_ms` at 2 s; then
/// a submission with an out fence, polled for up to 15 s. The queues' watchdog must notice
/// the unanswered request within two periods and reset the device: the fence signals with an
/// error, not never.
pub(crate) fn fence_hang(r: &mut Report, render: &Path, until: &Path) {
    let name = "fence-hang/setup";
    let Some((f, first)) = fenced_submission(r, name, render) else {
        return;
    };
    if !poll_in(first.as_fd()) {
        return r.fail(name, "the first submission's fence did not signal in 5 s");
    }
    r.pass(name, "context made, a first fenced submission signalled");
    eprintln!("READY");
    if !wait_for_file(r, "fence-hang/wait", until, 60) {
        return;
    }
    let t = Instant::now();
    let Some(ffd) = r.ok(
        "fence-hang/submit",
        "EXECBUFFER with FENCE_FD_OUT, answers dropped",
        virtgpu::execbuffer_fence_out(f.as_fd(), &FENCE_OUT),
    ) else {
        return;
    };
    let mut signalled = false;
    while !signalled && t.elapsed().as_secs() < 15 {
        signalled = poll_in(ffd.as_fd());
    }
    let ms = t.elapsed().as_millis();
    match virtgpu::sync_file_info(ffd.as_fd()) {
        Ok((status, _)) => r.check(
            "fence-hang/signalled",
            signalled && status < 0,
            format!(
                "the unanswered submission's fence: signalled {signalled} after {ms} ms, status {status} (want an error)"
            ),
        ),
        Err(e) => r.fail(
            "fence-hang/signalled",
            format!("SYNC_IOC_FILE_INFO: {}", err_name(&e)),
        ),
    }
}

/// `--lose-until FILE` (the suspend check of the virgl scenario): a 3D client whose host
/// context a suspend destroys. Before: a context made by a submission, a 3D resource (a
/// render target, created again by the driver at restore) read back from the host. After
/// FILE appears (one suspend/resume cycle later): a submission on the old file fails with
/// `ENODEV` (the driver's answer for a lost context), the old file's resource still reads
/// back (the host has it again), and a new file's context and resource work.
pub(crate) fn lose_context(r: &mut Report, render: &Path, until: &Path) {
    let name = "lose/setup";
    let Some(f) = r.ok(name, "open the render node", open_rw(render)) else {
        return;
    };
    let fd = f.as_fd();
    if r.ok(
        name,
        "EXECBUFFER (creates the context)",
        virtgpu::execbuffer_empty(fd),
    )
    .is_none()
    {
        return;
    }
    let mut rc = crate::resource_2d();
    if r.ok(
        name,
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_none()
    {
        return;
    }
    let mut t = virtgpu::Transfer {
        bo_handle: rc.bo_handle,
        bx: virtgpu::Box3d {
            w: 16,
            h: 16,
            d: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    if r.ok(
        name,
        "TRANSFER_FROM_HOST",
        virtgpu::transfer_from_host(fd, &mut t),
    )
    .is_none()
    {
        return;
    }
    r.pass(name, "a context and a 3D resource, read back from the host");
    eprintln!("LOSING");
    if !wait_for_file(r, "lose/wait", until, 120) {
        return;
    }
    match virtgpu::execbuffer_empty(fd) {
        Err(e) if e.raw_os_error() == Some(19) => r.pass(
            "lose/exec-old",
            "EXECBUFFER on the file whose context the suspend destroyed: ENODEV",
        ),
        Err(e) => r.fail(
            "lose/exec-old",
            format!("EXECBUFFER: {}, want ENODEV", err_name(&e)),
        ),
        Ok(()) => r.fail(
            "lose/exec-old",
            "EXECBUFFER succeeded on a lost context, want ENODEV",
        ),
    }
    if let Some(()) = r.ok(
        "lose/resource-old",
        "TRANSFER_FROM_HOST of the old file's resource after the resume",
        virtgpu::transfer_from_host(fd, &mut t),
    ) {
        r.pass(
            "lose/resource-old",
            "the resource made before the suspend reads back",
        )
    }
    drop(f);
    let Some(g) = r.ok(
        "lose/new-file",
        "open the render node again",
        open_rw(render),
    ) else {
        return;
    };
    let mut rc2 = crate::resource_2d();
    let fresh = virtgpu::execbuffer_empty(g.as_fd())
        .and_then(|()| virtgpu::resource_create(g.as_fd(), &mut rc2))
        .and_then(|()| {
            let mut t2 = virtgpu::Transfer {
                bo_handle: rc2.bo_handle,
                ..t
            };
            virtgpu::transfer_from_host(g.as_fd(), &mut t2)
        });
    if let Some(()) = r.ok(
        "lose/new-file",
        "a new file: EXECBUFFER, RESOURCE_CREATE, TRANSFER_FROM_HOST",
        fresh,
    ) {
        r.pass(
            "lose/new-file",
            "a new file's context and resource work after the resume",
        )
    }
}

/// Submission benchmarks on the 3D device, `secs` seconds each; prints `BENCH` lines:
/// - `exec-wait`: EXECBUFFER (one buffer object, empty command stream) then WAIT on the
///   object, round trips per second (higher is better): submission, host answer, fence;
///   `exec-ctxt` and `exec-irq` the guest's context switches and interrupts per round trip
///   over the same loop (lower is better);
/// - `fence-latency`: EXECBUFFER with an out fence, then poll on the sync_file until it
///   signals, the mean microseconds from submission to the signal seen (lower is better);
///   `fence-latency-median` the median of the same submissions. The test kernel's clock
///   under TCG is `refined-jiffies` (the TSC is marked unstable, no HPET without ACPI, no
///   high-resolution timers), which ticks every 4 ms: a single submission of under a
///   millisecond then mostly measures 0 and sometimes 4 ms, the median reads 0 and only the
///   mean over thousands of them is the latency. `make bench` boots with the TSC as the
///   clock (`run.py --tsc`), and both are real.
pub(crate) fn bench_exec(r: &mut Report, fd: BorrowedFd<'_>, secs: u64) {
    let Some(bo) = submit_resource(r, "bench/setup", fd) else {
        return;
    };
    let dur = std::time::Duration::from_secs(secs);
    let before = proc_stat_counts();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < dur {
        if let Err(e) = exec_wait(fd, bo) {
            r.fail("bench/exec-wait", format!("after {n}: {}", err_name(&e)));
            return;
        }
        n += 1;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("BENCH exec-wait {rate:.1} round-trips/s");
    // What a round trip costs the whole guest besides time: context switches and interrupts
    // (both CPUs; counts, so they do not move with the host's load as the rates do).
    if let (Some(b), Some(a)) = (before, proc_stat_counts()) {
        let per = |x: u64, y: u64| y.saturating_sub(x) as f64 / n.max(1) as f64;
        println!("BENCH exec-ctxt {:.2} switches/round-trip", per(b.0, a.0));
        println!("BENCH exec-irq {:.2} interrupts/round-trip", per(b.1, a.1));
    }
    let t = Instant::now();
    // Each submission's latency in seconds.
    let mut each = Vec::new();
    while t.elapsed() < dur {
        let t0 = Instant::now();
        let ffd = match virtgpu::execbuffer_fence_out(fd, &FENCE_OUT) {
            Ok(f) => f,
            Err(e) => {
                r.fail(
                    "bench/fence-latency",
                    format!("after {}: {}", each.len(), err_name(&e)),
                );
                return;
            }
        };
        if !poll_in(ffd.as_fd()) {
            r.fail(
                "bench/fence-latency",
                format!("fence {} did not signal in 5 s", each.len()),
            );
            return;
        }
        each.push(t0.elapsed().as_secs_f64());
    }
    let n = each.len();
    let lat = if n > 0 {
        each.iter().sum::<f64>() / n as f64 * 1e6
    } else {
        0.0
    };
    each.sort_by(f64::total_cmp);
    let median = each.get(n / 2).map_or(0.0, |d| d * 1e6);
    println!("BENCH fence-latency {lat:.1} us");
    println!("BENCH fence-latency-median {median:.1} us");
    let _ = drm_ffi::gem::close(fd, bo);
    r.pass(
        "bench/exec",
        format!("{rate:.1} EXECBUFFER+WAIT/s, fence latency {lat:.1} us (mean of {n}, median {median:.1})"),
    );
}

/// `--exec-loop N`: a resource, then `n` EXECBUFFER (one buffer object, empty command
/// stream) + WAIT round trips as `exec-wait` makes them, untimed: what a profile of one round
/// trip is taken over (tests/guest/profile.sh divides the kernel's counts by `n`).
pub(crate) fn exec_loop(r: &mut Report, fd: BorrowedFd<'_>, n: u64) {
    let Some(bo) = submit_resource(r, "exec-loop/setup", fd) else {
        return;
    };
    for i in 0..n {
        if let Err(e) = exec_wait(fd, bo) {
            r.fail("exec-loop", format!("after {i}: {}", err_name(&e)));
            return;
        }
    }
    let _ = drm_ffi::gem::close(fd, bo);
    r.pass("exec-loop", format!("{n} EXECBUFFER+WAIT round trips"));
}

/// The buffer object the submission loops submit with (a 2D resource); `None`, reported
/// under `name`, if it cannot be made.
fn submit_resource(r: &mut Report, name: &str, fd: BorrowedFd<'_>) -> Option<u32> {
    let mut rc = resource_2d();
    r.ok(
        name,
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )?;
    Some(rc.bo_handle)
}

/// One round trip of `exec-wait`: EXECBUFFER (buffer object `bo`, empty command stream),
/// then WAIT on `bo`.
fn exec_wait(fd: BorrowedFd<'_>, bo: u32) -> io::Result<()> {
    let bos = [bo];
    let e = virtgpu::Exec {
        bos: &bos,
        fence_fd: -1,
        ..Default::default()
    };
    let mut w = virtgpu::Wait {
        handle: bo,
        flags: 0,
    };
    virtgpu::execbuffer(fd, &e).and_then(|_| virtgpu::wait(fd, &mut w))
}

/// The guest's context switches and interrupts so far (`ctxt` and the total of `intr` in
/// `/proc/stat`).
fn proc_stat_counts() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let field = |name: &str| {
        stat.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("ctxt ")?, field("intr ")?))
}

/// A C string field's text.
fn cstr(b: &[u8]) -> String {
    let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..n]).into_owned()
}

/// Waits up to 5 s for `fd` to become readable (a sync_file signalled).
fn poll_in(fd: BorrowedFd<'_>) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    matches!(
        poll(
            &mut fds,
            Some(&rustix::time::Timespec {
                tv_sec: 5,
                tv_nsec: 0
            })
        ),
        Ok(1)
    )
}

/// An absolute CLOCK_MONOTONIC time `secs` from now, for DRM syncobj waits.
fn deadline(secs: i64) -> i64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec + secs) * 1_000_000_000 + t.tv_nsec
}

/// EXECBUFFER, WAIT and fences: a submission with a buffer object and an out fence (a
/// sync_file that names the driver and its timeline and signals), WAIT on the object, the fence
/// as an in-fence, binary and timeline syncobjs out and in (with RESET), and the errnos of bad
/// submissions held to the C driver's.
/// EXECBUFFER without commands and with one syncobj `handle`: signalled by the submission
/// (`out`) or waited for before it, with `flags` and timeline `point`.
fn exec_syncobj(
    fd: BorrowedFd<'_>,
    handle: u32,
    flags: u32,
    point: u64,
    out: bool,
) -> io::Result<i32> {
    let one = [virtgpu::ExecSyncobj {
        handle,
        flags,
        point,
    }];
    let (ins, outs): (&[virtgpu::ExecSyncobj], &[virtgpu::ExecSyncobj]) =
        if out { (&[], &one) } else { (&one, &[]) };
    virtgpu::execbuffer(
        fd,
        &virtgpu::Exec {
            ins,
            outs,
            fence_fd: -1,
            ..Default::default()
        },
    )
}

fn check_virgl_exec(r: &mut Report, fd: BorrowedFd<'_>) {
    let mut rc = resource_2d();
    if r.ok(
        "virgl/exec-fence-out",
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_none()
    {
        return;
    }
    let bo = [rc.bo_handle];
    let e = virtgpu::Exec {
        flags: virtgpu::EXECBUF_FENCE_FD_OUT,
        bos: &bo,
        fence_fd: -1,
        ..Default::default()
    };
    let out = r.ok(
        "virgl/exec-fence-out",
        "EXECBUFFER with a BO and FENCE_FD_OUT",
        virtgpu::execbuffer_fence_out(fd, &e),
    );
    if let Some(ffd) = out {
        let signalled = poll_in(ffd.as_fd());
        match virtgpu::sync_file_info(ffd.as_fd()) {
            Ok((status, f)) => r.check(
                "virgl/exec-fence-out",
                signalled && status == 1,
                format!(
                    "sync_file fd: signalled within 5 s: {signalled}, status {status}, driver '{}', timeline '{}'",
                    cstr(&f.driver_name),
                    cstr(&f.obj_name)
                ),
            ),
            Err(e) => r.fail("virgl/exec-fence-out", format!("SYNC_IOC_FILE_INFO: {}", err_name(&e))),
        }
        let e = virtgpu::Exec {
            flags: virtgpu::EXECBUF_FENCE_FD_IN,
            fence_fd: ffd.as_raw_fd(),
            ..Default::default()
        };
        let res = virtgpu::execbuffer(fd, &e);
        r.check(
            "virgl/exec-fence-in",
            res.is_ok(),
            format!(
                "EXECBUFFER with that fence as FENCE_FD_IN: {}",
                outcome(&res, "ok")
            ),
        );
    }
    let mut w = virtgpu::Wait {
        handle: rc.bo_handle,
        flags: 0,
    };
    let waited = virtgpu::wait(fd, &mut w);
    let mut w = virtgpu::Wait {
        handle: rc.bo_handle,
        flags: virtgpu::WAIT_NOWAIT,
    };
    let idle = virtgpu::wait(fd, &mut w);
    r.check(
        "virgl/wait",
        waited.is_ok() && idle.is_ok(),
        format!(
            "WAIT after the submission: {}; NOWAIT then: {}",
            outcome(&waited, "ok"),
            outcome(&idle, "idle")
        ),
    );
    // Syncobjs: a binary one filled by a submission and waited for, then used as an in-syncobj
    // with RESET (empty afterwards); a timeline one gets point 5.
    match drm_ffi::syncobj::create(fd, false) {
        Ok(so) => {
            let h = so.handle;
            let sub = exec_syncobj(fd, h, 0, 0, true);
            let waited = drm_ffi::syncobj::wait(fd, &[h], deadline(5), true, false);
            let sub2 = exec_syncobj(fd, h, virtgpu::EXECBUF_SYNCOBJ_RESET, 0, false);
            let empty = drm_ffi::syncobj::wait(fd, &[h], deadline(0), true, false);
            r.check(
                "virgl/syncobj",
                sub.is_ok() && waited.is_ok() && sub2.is_ok() && empty.is_err(),
                format!(
                    "out-syncobj: {}, signalled: {}; in-syncobj with RESET: {}, empty afterwards: {}",
                    outcome(&sub, "ok"),
                    outcome(&waited, "ok"),
                    outcome(&sub2, "ok"),
                    outcome(&empty, "no")
                ),
            );
            let _ = drm_ffi::syncobj::destroy(fd, h);
        }
        Err(e) => r.fail("virgl/syncobj", format!("SYNCOBJ_CREATE: {}", err_name(&e))),
    }
    match drm_ffi::syncobj::create(fd, false) {
        Ok(so) => {
            let h = so.handle;
            let sub = exec_syncobj(fd, h, 0, 5, true);
            let waited =
                drm_ffi::syncobj::timeline_wait(fd, &[h], &[5], deadline(5), true, false, false);
            let mut points = [0u64];
            let q = drm_ffi::syncobj::query(fd, &[h], &mut points, false);
            r.check(
                "virgl/syncobj-timeline",
                sub.is_ok() && waited.is_ok() && q.is_ok() && points[0] == 5,
                format!(
                    "out-syncobj point 5: {}, signalled: {}, point now {}",
                    outcome(&sub, "ok"),
                    outcome(&waited, "ok"),
                    points[0]
                ),
            );
            let _ = drm_ffi::syncobj::destroy(fd, h);
        }
        Err(e) => r.fail(
            "virgl/syncobj-timeline",
            format!("SYNCOBJ_CREATE: {}", err_name(&e)),
        ),
    }
    // Bad submissions.
    let ex = |e: virtgpu::Exec<'_>| virtgpu::execbuffer(fd, &e);
    let base = || virtgpu::Exec {
        fence_fd: -1,
        ..Default::default()
    };
    r.errno(
        "virgl/exec-bad-flags",
        "EXECBUFFER flags 0x80",
        ex(virtgpu::Exec {
            flags: 0x80,
            ..base()
        }),
    );
    r.errno(
        "virgl/exec-ring-idx",
        "EXECBUFFER RING_IDX 0 without context init",
        ex(virtgpu::Exec {
            flags: virtgpu::EXECBUF_RING_IDX,
            ..base()
        }),
    );
    let bad = [BAD_HANDLE];
    r.errno(
        "virgl/exec-bad-bo",
        "EXECBUFFER with a bad handle",
        ex(virtgpu::Exec {
            bos: &bad,
            ..base()
        }),
    );
    let dup = [rc.bo_handle, rc.bo_handle];
    r.errno(
        "virgl/exec-dup-bo",
        "EXECBUFFER with one BO twice",
        ex(virtgpu::Exec {
            bos: &dup,
            ..base()
        }),
    );
    r.errno(
        "virgl/exec-cmd-efault",
        "EXECBUFFER 64 bytes of commands at an unmapped address",
        virtgpu::execbuffer_unmapped(fd, 64),
    );
    r.errno(
        "virgl/exec-huge",
        "EXECBUFFER size 0x80000001",
        virtgpu::execbuffer_unmapped(fd, 0x8000_0001),
    );
    r.errno(
        "virgl/exec-bad-fence-in",
        "EXECBUFFER FENCE_FD_IN -1",
        ex(virtgpu::Exec {
            flags: virtgpu::EXECBUF_FENCE_FD_IN,
            ..base()
        }),
    );
    let unknown = [virtgpu::ExecSyncobj {
        handle: BAD_HANDLE,
        flags: 0,
        point: 0,
    }];
    r.errno(
        "virgl/exec-out-syncobj-unknown",
        "EXECBUFFER out-syncobj bad handle",
        ex(virtgpu::Exec {
            outs: &unknown,
            ..base()
        }),
    );
    r.errno(
        "virgl/exec-in-syncobj-unknown",
        "EXECBUFFER in-syncobj bad handle",
        ex(virtgpu::Exec {
            ins: &unknown,
            ..base()
        }),
    );
    let flagged = [virtgpu::ExecSyncobj {
        handle: BAD_HANDLE,
        flags: 1,
        point: 0,
    }];
    r.errno(
        "virgl/exec-out-syncobj-flags",
        "EXECBUFFER out-syncobj flags 1",
        ex(virtgpu::Exec {
            outs: &flagged,
            ..base()
        }),
    );
    let flagged2 = [virtgpu::ExecSyncobj {
        handle: BAD_HANDLE,
        flags: 2,
        point: 0,
    }];
    r.errno(
        "virgl/exec-in-syncobj-flags",
        "EXECBUFFER in-syncobj flags 2",
        ex(virtgpu::Exec {
            ins: &flagged2,
            ..base()
        }),
    );
    let _ = drm_ffi::gem::close(fd, rc.bo_handle);
}
