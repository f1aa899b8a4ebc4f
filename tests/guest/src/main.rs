// SPDX-License-Identifier: GPL-2.0
//! `vgrs-uapi-test`: exercises the DRM uapi of a virtio-gpu driver from inside the guest, so
//! that our Rust driver (`virtio_gpu_rs`) and the C `virtio_gpu` driver can be compared check
//! by check. Prints one `PASS|FAIL|SKIP <check> <detail>` line per check and a closing
//! `N passed, N failed, N skipped`; exits 0 iff nothing failed.
//!
//! Negative checks are held to the C driver's errno (see `expect.rs`).
//!
//! Usage: `vgrs-uapi-test [--device /dev/dri/card0] [--render /dev/dri/renderD128]
//! [--label rs|c] [--hold-until FILE]`
//!
//! With `--hold-until FILE` it runs the hold checks instead: it keeps the device open with a
//! live, mmapped dumb buffer until FILE appears (the guest script unbinds the driver
//! meanwhile), then uses the mapping and the fd again and closes them.

use vgrs_guest::report::{err_name, Report};
use vgrs_guest::{expect, mapping, meminfo, virtgpu};

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use drm_ffi::mode::dumbbuffer;

use vgrs_guest::mapping::Mapping;

mod uapi_fault;
mod uapi_virgl;
use uapi_fault::check_fault;
use uapi_virgl::{bench_exec, check_virgl, exec_loop, fence_hang, hold_fence, lose_context};

/// A handle no driver hands out (DRM handles count up from 1).
const BAD_HANDLE: u32 = 0x7fff_0000;
const PAGE: u64 = 4096;

const DRM_CAP_DUMB_BUFFER: u64 = 1;
const DRM_CAP_DUMB_PREFERRED_DEPTH: u64 = 3;
const DRM_CAP_DUMB_PREFER_SHADOW: u64 = 4;
const DRM_CAP_PRIME: u64 = 5;

/// The 2D resource Mesa's virgl winsys / the C driver accept without virgl: PIPE_TEXTURE_2D,
/// VIRGL_FORMAT_B8G8R8X8_UNORM, VIRGL_BIND_RENDER_TARGET.
const RES_TARGET_2D: u32 = 2;
const RES_FORMAT_B8G8R8X8: u32 = 2;
const RES_BIND_RENDER_TARGET: u32 = 2;
const RES_W: u32 = 64;
const RES_H: u32 = 64;

struct Args {
    device: PathBuf,
    render: PathBuf,
    label: String,
    /// `--hold-until FILE`: hold the device (see [`hold`]) until FILE exists.
    hold_until: Option<PathBuf>,
    /// `--keep-until FILE`: keep using the device across suspends (see [`keep`]) until FILE
    /// exists.
    keep_until: Option<PathBuf>,
    /// `--virgl`: only the checks of the 3D device (see [`check_virgl`]).
    virgl: bool,
    /// `--hold-fence FILE`: hold a fence's sync_file (see [`hold_fence`]) until FILE exists.
    hold_fence: Option<PathBuf>,
    /// `--lose-until FILE`: a 3D client across a suspend (see [`lose_context`]).
    lose_until: Option<PathBuf>,
    /// `--fence-hang FILE`: a fenced submission on a device that stops answering (see
    /// [`fence_hang`]).
    fence_hang: Option<PathBuf>,
    /// `--bench-exec SECS`: measure submissions on the 3D device (see [`bench_exec`]).
    bench_exec: Option<u64>,
    /// `--exec-loop N`: N EXECBUFFER+WAIT round trips, untimed (see [`exec_loop`]).
    exec_loop: Option<u64>,
    /// `--fault`: allocation failures injected into the driver's ioctls (debug kernel; with
    /// `--virgl`, the 3D ones instead).
    fault: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        device: "/dev/dri/card0".into(),
        render: "/dev/dri/renderD128".into(),
        label: "?".into(),
        hold_until: None,
        keep_until: None,
        virgl: false,
        hold_fence: None,
        lose_until: None,
        fence_hang: None,
        bench_exec: None,
        exec_loop: None,
        fault: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--device" => args.device = val()?.into(),
            "--render" => args.render = val()?.into(),
            "--label" => args.label = val()?,
            "--hold-until" => args.hold_until = Some(val()?.into()),
            "--keep-until" => args.keep_until = Some(val()?.into()),
            "--virgl" => args.virgl = true,
            "--fault" => args.fault = true,
            "--hold-fence" => args.hold_fence = Some(val()?.into()),
            "--lose-until" => args.lose_until = Some(val()?.into()),
            "--fence-hang" => args.fence_hang = Some(val()?.into()),
            "--bench-exec" => {
                args.bench_exec = Some(val()?.parse().map_err(|e| format!("--bench-exec: {e}"))?)
            }
            "--exec-loop" => {
                args.exec_loop = Some(val()?.parse().map_err(|e| format!("--exec-loop: {e}"))?)
            }
            "-h" | "--help" => {
                return Err("usage: vgrs-uapi-test [--device /dev/dri/card0] \
                            [--render /dev/dri/renderD128] [--label rs|c] \
                            [--hold-until FILE] [--keep-until FILE] [--virgl] [--hold-fence FILE] [--lose-until FILE] [--fence-hang FILE] \
                            [--bench-exec SECS] [--exec-loop N] [--fault]"
                    .into())
            }
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(args)
}

/// Runs `f` on the render node at `path`; a failure to open it is reported.
fn on_render(r: &mut Report, path: &Path, f: impl FnOnce(&mut Report, BorrowedFd<'_>)) {
    match open_rw(path) {
        Ok(file) => f(r, file.as_fd()),
        Err(e) => r.fail("open", format!("{}: {}", path.display(), err_name(&e))),
    }
}

fn open_rw(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// DRM_IOCTL_VERSION: (name, "desc, date, major.minor.patch").
fn version(fd: BorrowedFd<'_>) -> io::Result<(String, String)> {
    let (mut name, mut date, mut desc) = (Vec::new(), Vec::new(), Vec::new());
    let v = drm_ffi::get_version(fd, Some(&mut name), Some(&mut date), Some(&mut desc))?;
    let s = |b: &[core::ffi::c_char]| {
        String::from_utf8_lossy(&b.iter().map(|&c| c as u8).collect::<Vec<_>>()).into_owned()
    };
    Ok((
        s(&name),
        format!(
            "desc '{}' date '{}' version {}.{}.{}",
            s(&desc),
            s(&date),
            v.version_major,
            v.version_minor,
            v.version_patchlevel
        ),
    ))
}

fn check_version(r: &mut Report, fd: BorrowedFd<'_>) {
    if let Some((name, rest)) = r.ok("version", "DRM_IOCTL_VERSION", version(fd)) {
        r.check(
            "version",
            name == "virtio_gpu",
            format!("name '{name}' (want virtio_gpu), {rest}"),
        );
    }
}

/// The PCI device behind a DRM node, found like libdrm's drmGetDevice: the node's
/// /sys/dev/char/M:m/device, and its parent if that is the virtio device.
struct PciInfo {
    addr: String,
    vendor: u32,
    device: u32,
    via: &'static str,
}

fn sysfs_pci(fd: BorrowedFd<'_>) -> Result<PciInfo, String> {
    let st = rustix::fs::fstat(fd).map_err(|e| format!("fstat: {e}"))?;
    let (maj, min) = (rustix::fs::major(st.st_rdev), rustix::fs::minor(st.st_rdev));
    let link = format!("/sys/dev/char/{maj}:{min}/device");
    let mut dev = fs::canonicalize(&link).map_err(|e| format!("{link}: {e}"))?;
    let subsystem = |d: &Path| -> String {
        fs::read_link(d.join("subsystem"))
            .ok()
            .and_then(|p| p.file_name().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_default()
    };
    let mut via = "direct";
    if subsystem(&dev) == "virtio" {
        dev = dev
            .parent()
            .ok_or("virtio device has no parent")?
            .to_path_buf();
        via = "via virtio parent";
    }
    let sub = subsystem(&dev);
    if sub != "pci" {
        return Err(format!("{} is on bus '{sub}', not pci", dev.display()));
    }
    let hex = |f: &str| -> Result<u32, String> {
        let s = fs::read_to_string(dev.join(f)).map_err(|e| format!("{f}: {e}"))?;
        u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).map_err(|e| format!("{f}: {e}"))
    };
    Ok(PciInfo {
        addr: dev
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        vendor: hex("vendor")?,
        device: hex("device")?,
        via,
    })
}

fn check_busid(r: &mut Report, fd: BorrowedFd<'_>) {
    let pci = match sysfs_pci(fd) {
        Ok(p) => {
            r.check(
                "busid/pci",
                p.vendor == 0x1af4 && p.device == 0x1050,
                format!(
                    "{} ({}) vendor {:#06x} device {:#06x} (want 0x1af4 0x1050)",
                    p.addr, p.via, p.vendor, p.device
                ),
            );
            Some(p)
        }
        Err(e) => {
            r.fail("busid/pci", e);
            None
        }
    };
    // libdrm's drmGetBusid: SET_VERSION 1.4 (master only), then GET_UNIQUE.
    let mut sv = drm_ffi::drm_sys::drm_set_version {
        drm_di_major: 1,
        drm_di_minor: 4,
        drm_dd_major: -1,
        drm_dd_minor: -1,
    };
    if let Err(e) = drm_ffi::set_version(fd, &mut sv) {
        r.fail("busid/unique", format!("SET_VERSION 1.4: {}", err_name(&e)));
        return;
    }
    let mut buf = Vec::new();
    if let Some(u) = r.ok(
        "busid/unique",
        "GET_UNIQUE",
        drm_ffi::get_bus_id(fd, Some(&mut buf)),
    ) {
        let unique = String::from_utf8_lossy(&buf[..(u.unique_len as usize).min(buf.len())])
            .trim_end_matches('\0')
            .to_string();
        match pci {
            Some(p) => {
                let want = format!("pci:{}", p.addr);
                r.check(
                    "busid/unique",
                    unique == want,
                    format!("'{unique}' (want '{want}')"),
                );
            }
            None => r.fail(
                "busid/unique",
                format!("'{unique}' but no PCI device to match"),
            ),
        }
    }
}

fn check_caps(r: &mut Report, fd: BorrowedFd<'_>) {
    for (name, cap) in [
        ("caps/dumb-buffer", DRM_CAP_DUMB_BUFFER),
        ("caps/preferred-depth", DRM_CAP_DUMB_PREFERRED_DEPTH),
        ("caps/prefer-shadow", DRM_CAP_DUMB_PREFER_SHADOW),
        ("caps/prime", DRM_CAP_PRIME),
    ] {
        let want = expect::c_cap(name).expect("every caps check has a C value");
        if let Some(c) = r.ok(name, "GET_CAP", drm_ffi::get_capability(fd, cap)) {
            r.check(
                name,
                c.value == want,
                format!("cap {cap} = {}; C driver: {want}", c.value),
            );
        }
    }
}

fn check_render(r: &mut Report, path: &Path) {
    if !path.exists() {
        r.fail("render/open", format!("{} does not exist", path.display()));
        for n in [
            "render/version",
            "render/getparam",
            "render/dumb-create",
            "render/resource-create",
        ] {
            r.skip(n, "no render node");
        }
        return;
    }
    let Some(f) = r.ok(
        "render/open",
        &format!("open {}", path.display()),
        open_rw(path),
    ) else {
        return;
    };
    r.pass("render/open", format!("{} opened", path.display()));
    let fd = f.as_fd();
    if let Some((name, rest)) = r.ok("render/version", "DRM_IOCTL_VERSION", version(fd)) {
        r.check(
            "render/version",
            name == "virtio_gpu",
            format!("name '{name}' (want virtio_gpu), {rest}"),
        );
    }
    if let Some(v) = r.ok(
        "render/getparam",
        "GETPARAM 3D_FEATURES",
        virtgpu::getparam(fd, 1),
    ) {
        r.pass(
            "render/getparam",
            format!("3D_FEATURES = {v} on the render node"),
        );
    }
    r.errno(
        "render/dumb-create",
        "CREATE_DUMB on the render node",
        dumbbuffer::create(fd, 64, 64, 32, 0),
    );
    let mut rc = resource_2d();
    if r.ok(
        "render/resource-create",
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_some()
    {
        let closed = drm_ffi::gem::close(fd, rc.bo_handle);
        r.check(
            "render/resource-create",
            rc.bo_handle != 0 && rc.res_handle != 0 && closed.is_ok(),
            format!(
                "bo {} res {}; GEM_CLOSE {}",
                rc.bo_handle,
                rc.res_handle,
                outcome(&closed, "ok")
            ),
        );
    }
}

fn check_getparam(r: &mut Report, fd: BorrowedFd<'_>) {
    for (i, pname) in virtgpu::PARAM_NAMES.iter().enumerate() {
        let param = i as u64 + 1;
        let name = format!("getparam/{pname}");
        if let Some(v) = r.ok(
            &name,
            &format!("GETPARAM {param}"),
            virtgpu::getparam(fd, param),
        ) {
            r.pass(&name, format!("param {param} = {v} ({v:#x})"));
        }
    }
    for bad in [0u64, 1000] {
        r.errno(
            &format!("getparam/bad-{bad}"),
            &format!("GETPARAM {bad}"),
            virtgpu::getparam(fd, bad),
        );
    }
}

/// Creates, maps, writes, re-maps and reads back, and destroys a 640x480x32 dumb buffer.
fn check_dumb(r: &mut Report, fd: BorrowedFd<'_>) {
    const DEPS: [&str; 4] = [
        "dumb/map",
        "dumb/write-readback",
        "dumb/destroy",
        "dumb/double-destroy",
    ];
    let Some(db) = r.ok(
        "dumb/create",
        "CREATE_DUMB 640x480x32",
        dumbbuffer::create(fd, 640, 480, 32, 0),
    ) else {
        DEPS.iter().for_each(|n| r.skip(n, "dumb/create failed"));
        return;
    };
    let min = u64::from(db.pitch) * 480;
    r.check(
        "dumb/create",
        db.handle != 0 && db.pitch == 2560 && db.size >= min && db.size.is_multiple_of(PAGE),
        format!(
            "handle {} pitch {} (want 2560) size {} (want >= {min}, page aligned)",
            db.handle, db.pitch, db.size
        ),
    );
    let size = db.size as usize;
    match r.ok("dumb/map", "MAP_DUMB", dumbbuffer::map(fd, db.handle, 0, 0)) {
        Some(m) => {
            r.check(
                "dumb/map",
                m.offset != 0 && m.offset.is_multiple_of(PAGE),
                format!("fake offset {:#x}", m.offset),
            );
            readback(r, "dumb/write-readback", fd, m.offset, size, 0x5a5a_0001);
        }
        None => r.skip("dumb/write-readback", "dumb/map failed"),
    }
    if r.ok(
        "dumb/destroy",
        "DESTROY_DUMB",
        dumbbuffer::destroy(fd, db.handle),
    )
    .is_some()
    {
        r.pass("dumb/destroy", format!("handle {}", db.handle));
    }
    r.errno(
        "dumb/double-destroy",
        &format!("second DESTROY_DUMB of handle {}", db.handle),
        dumbbuffer::destroy(fd, db.handle),
    );
}

/// A 1280x800x32 dumb buffer (4,096,000 bytes: one whole 2 MiB huge page fits in it) and the
/// shmem huge pages it takes: ours allocates buffers from a tmpfs mount with
/// `huge=within_size` (one huge page here, given back once the buffer is destroyed and the
/// host let go of it), the C driver from the kernel's shm mount (`shmem_enabled` is `never`:
/// none). The buffer is mapped and written, so its memory is checked as memory.
fn check_huge_pages(r: &mut Report, fd: BorrowedFd<'_>, label: &str) {
    const NAME: &str = "dumb/huge-pages";
    let Some(before) = r.ok(NAME, "ShmemHugePages", meminfo::kb("ShmemHugePages")) else {
        return;
    };
    let Some(db) = r.ok(
        NAME,
        "CREATE_DUMB 1280x800x32",
        dumbbuffer::create(fd, 1280, 800, 32, 0),
    ) else {
        return;
    };
    let during = meminfo::kb("ShmemHugePages");
    if let Some(m) = r.ok(NAME, "MAP_DUMB", dumbbuffer::map(fd, db.handle, 0, 0)) {
        readback(
            r,
            "dumb/huge-pages-readback",
            fd,
            m.offset,
            db.size as usize,
            0x7e57_0002,
        );
    }
    let _ = dumbbuffer::destroy(fd, db.handle);
    // The pages go once the host answered the resource's unref.
    let mut after = meminfo::kb("ShmemHugePages");
    for _ in 0..100 {
        if after.as_ref().is_ok_and(|a| *a <= before) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        after = meminfo::kb("ShmemHugePages");
    }
    let (Some(during), Some(after)) = (
        r.ok(NAME, "ShmemHugePages", during),
        r.ok(NAME, "ShmemHugePages", after),
    ) else {
        return;
    };
    let grew = during.saturating_sub(before);
    let detail = format!(
        "ShmemHugePages {before} kB before, {during} kB with the buffer, {after} kB after it"
    );
    if label == "c" {
        r.check(
            NAME,
            grew == 0,
            format!("C driver, kernel shm mount: {detail} (want no growth)"),
        );
    } else {
        r.check(
            NAME,
            grew >= 2048 && after <= before,
            format!("{detail} (want one 2048 kB huge page, given back)"),
        );
    }
}

/// mmaps `len` bytes at `offset`, writes a pattern, unmaps, maps again and compares.
fn readback(r: &mut Report, name: &str, fd: BorrowedFd<'_>, offset: u64, len: usize, seed: u32) {
    let Some(mut m) = r.ok(name, "first mmap", Mapping::new(fd, offset, len)) else {
        return;
    };
    mapping::fill(m.bytes(), seed);
    drop(m);
    let Some(mut m) = r.ok(name, "second mmap", Mapping::new(fd, offset, len)) else {
        return;
    };
    match mapping::first_mismatch(m.bytes(), seed) {
        None => r.pass(
            name,
            format!("{len} bytes written, unmapped, remapped, identical"),
        ),
        Some(at) => r.fail(name, format!("readback differs at byte {at} of {len}")),
    }
}

fn check_bad_inputs(r: &mut Report, fd: BorrowedFd<'_>) {
    for (name, w, h, bpp) in [
        ("dumb/bad-bpp16", 64, 64, 16),
        ("dumb/bad-bpp0", 64, 64, 0),
        ("dumb/bad-width0", 0, 64, 32),
        ("dumb/bad-height0", 64, 0, 32),
        ("dumb/bad-huge", 65536, 65536, 32),
        ("dumb/bad-width-max", u32::MAX, 1, 32),
    ] {
        let res = dumbbuffer::create(fd, w, h, bpp, 0);
        if let Ok(db) = &res {
            // Do not leak it into the later checks.
            let _ = dumbbuffer::destroy(fd, db.handle);
        }
        r.errno(name, &format!("CREATE_DUMB {w}x{h}x{bpp}"), res);
    }
    r.errno(
        "dumb/map-bad-handle",
        &format!("MAP_DUMB handle {BAD_HANDLE:#x}"),
        dumbbuffer::map(fd, BAD_HANDLE, 0, 0),
    );
    r.errno(
        "dumb/destroy-bad-handle",
        &format!("DESTROY_DUMB handle {BAD_HANDLE:#x}"),
        dumbbuffer::destroy(fd, BAD_HANDLE),
    );
    r.errno(
        "gem/close-bad-handle",
        &format!("GEM_CLOSE handle {BAD_HANDLE:#x}"),
        drm_ffi::gem::close(fd, BAD_HANDLE),
    );
}

/// Create/destroy cycles: 2000, or `VGRS_CYCLES` (the debug kernel's run uses fewer: every
/// cycle is slower under KASAN, and a few hundred already exercise the paths).
fn check_cycles(r: &mut Report, fd: BorrowedFd<'_>) {
    let n: u32 = std::env::var("VGRS_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2000);
    let name_owned = format!("dumb/cycles-{n}");
    let name = name_owned.as_str();
    let t = Instant::now();
    for i in 0..n {
        let db = match dumbbuffer::create(fd, 64, 64, 32, 0) {
            Ok(db) => db,
            Err(e) => {
                r.fail(name, format!("create {i} of {n}: {}", err_name(&e)));
                return;
            }
        };
        if let Err(e) = dumbbuffer::destroy(fd, db.handle) {
            r.fail(name, format!("destroy {i} of {n}: {}", err_name(&e)));
            return;
        }
    }
    r.pass(
        name,
        format!(
            "{n} create/destroy of 64x64x32 in {} ms",
            t.elapsed().as_millis()
        ),
    );
}

fn resource_2d() -> virtgpu::ResourceCreate {
    virtgpu::ResourceCreate {
        target: RES_TARGET_2D,
        format: RES_FORMAT_B8G8R8X8,
        bind: RES_BIND_RENDER_TARGET,
        width: RES_W,
        height: RES_H,
        depth: 1,
        array_size: 1,
        size: RES_W * RES_H * 4,
        stride: RES_W * 4,
        ..Default::default()
    }
}

fn check_virtgpu(r: &mut Report, fd: BorrowedFd<'_>) {
    let mut rc = resource_2d();
    let created = r
        .ok(
            "virtgpu/resource-create",
            "RESOURCE_CREATE 64x64 B8G8R8X8 2D",
            virtgpu::resource_create(fd, &mut rc),
        )
        .is_some();
    if created {
        r.check(
            "virtgpu/resource-create",
            rc.bo_handle != 0 && rc.res_handle != 0,
            format!("64x64 B8G8R8X8: bo {} res {}", rc.bo_handle, rc.res_handle),
        );
        resource_ops(r, fd, &rc);
    } else {
        for n in [
            "virtgpu/resource-info",
            "virtgpu/map",
            "virtgpu/mmap",
            "virtgpu/transfer-to-host",
            "virtgpu/wait",
            "virtgpu/wait-nowait",
            "virtgpu/transfer-from-host",
            "virtgpu/close",
        ] {
            r.skip(n, "virtgpu/resource-create failed");
        }
    }

    r.errno(
        "virtgpu/execbuffer",
        "EXECBUFFER (empty)",
        virtgpu::execbuffer_empty(fd),
    );
    let mut caps = [0u8; 64];
    r.errno(
        "virtgpu/get-caps",
        "GET_CAPS capset 1 v0",
        virtgpu::get_caps(fd, 1, 0, &mut caps),
    );
    let params = [virtgpu::ContextSetParam {
        param: virtgpu::CONTEXT_PARAM_CAPSET_ID,
        value: 1,
    }];
    r.errno(
        "virtgpu/context-init",
        "CONTEXT_INIT capset 1",
        virtgpu::context_init(fd, &params),
    );
    let res = virtgpu::resource_create_blob(
        fd,
        virtgpu::BLOB_MEM_GUEST,
        virtgpu::BLOB_FLAG_USE_MAPPABLE | virtgpu::BLOB_FLAG_USE_SHAREABLE,
        16384,
    );
    if let Ok((bo, _)) = res {
        let _ = drm_ffi::gem::close(fd, bo);
    }
    r.errno(
        "virtgpu/resource-create-blob",
        "RESOURCE_CREATE_BLOB guest 16K",
        res,
    );
    for (name, what, f) in [
        (
            "virtgpu/create-bad-target",
            "RESOURCE_CREATE target 0",
            (|rc: &mut virtgpu::ResourceCreate| rc.target = 0) as fn(&mut _),
        ),
        (
            "virtgpu/create-bad-depth",
            "RESOURCE_CREATE depth 2",
            |rc: &mut virtgpu::ResourceCreate| rc.depth = 2,
        ),
    ] {
        let mut rc = resource_2d();
        f(&mut rc);
        let res = virtgpu::resource_create(fd, &mut rc);
        if res.is_ok() {
            let _ = drm_ffi::gem::close(fd, rc.bo_handle);
        }
        r.errno(name, what, res);
    }

    let mut ri = virtgpu::ResourceInfo {
        bo_handle: BAD_HANDLE,
        ..Default::default()
    };
    r.errno(
        "virtgpu/info-bad-handle",
        "RESOURCE_INFO bad handle",
        virtgpu::resource_info(fd, &mut ri),
    );
    let mut m = virtgpu::Map {
        handle: BAD_HANDLE,
        ..Default::default()
    };
    r.errno(
        "virtgpu/map-bad-handle",
        "MAP bad handle",
        virtgpu::map(fd, &mut m),
    );
    let mut w = virtgpu::Wait {
        handle: BAD_HANDLE,
        flags: 0,
    };
    r.errno(
        "virtgpu/wait-bad-handle",
        "WAIT bad handle",
        virtgpu::wait(fd, &mut w),
    );
    let mut t = transfer(BAD_HANDLE);
    r.errno(
        "virtgpu/transfer-bad-handle",
        "TRANSFER_TO_HOST bad handle",
        virtgpu::transfer_to_host(fd, &mut t),
    );
}

/// `VIRTGPU_TRANSFER_TO_HOST` on a 2D device whose rows, read at the resource's stride, run
/// past the object: a 256x256 resource with one page of backing (a size the uapi allows),
/// 16 rows of 16 pixels. The C driver passes it to the host, and QEMU 7.2 then stops the
/// whole VM (an assertion in its `iov_to_buf`: found by the fault-injection fuzz run); ours
/// answers EINVAL and takes what fits (4 rows). Not run on the C driver, which would end
/// the boot.
fn check_transfer_bounds(r: &mut Report, fd: BorrowedFd<'_>, label: &str) {
    const NAME: &str = "virtgpu/transfer-past-backing";
    if label == "c" {
        return r.skip(
            NAME,
            "not run: the C driver hands the transfer to the host, and QEMU 7.2 stops the VM",
        );
    }
    let mut rc = virtgpu::ResourceCreate {
        width: 256,
        height: 256,
        size: 4096,
        stride: 1024,
        ..resource_2d()
    };
    if r.ok(
        NAME,
        "RESOURCE_CREATE 256x256 with 4096 bytes",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_none()
    {
        return;
    }
    let mut t = transfer(rc.bo_handle);
    let mut results = Vec::new();
    for (w, h, offset) in [(16, 16, 0), (1, 1, 4096), (16, 4, 0), (1, 1, 4092)] {
        t.bx.w = w;
        t.bx.h = h;
        t.offset = offset;
        let res = virtgpu::transfer_to_host(fd, &mut t);
        results.push((w, h, offset, res.map_err(|e| err_name(&e))));
    }
    let _ = drm_ffi::gem::close(fd, rc.bo_handle);
    let want = |i: usize| {
        if i < 2 {
            Err("EINVAL".to_string())
        } else {
            Ok(())
        }
    };
    let ok = results
        .iter()
        .enumerate()
        .all(|(i, (.., got))| *got == want(i));
    let detail: Vec<String> = results
        .iter()
        .map(|(w, h, o, got)| {
            format!(
                "{w}x{h} at {o}: {}",
                got.clone().err().unwrap_or("ok".into())
            )
        })
        .collect();
    r.check(
        NAME,
        ok,
        format!(
            "256x256 resource, 4096 bytes: {} (want EINVAL, EINVAL, ok, ok)",
            detail.join(", ")
        ),
    );
}

fn transfer(bo_handle: u32) -> virtgpu::Transfer {
    virtgpu::Transfer {
        bo_handle,
        bx: virtgpu::Box3d {
            w: RES_W,
            h: RES_H,
            d: 1,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// INFO, MAP + mmap, TRANSFER_TO_HOST, WAIT, TRANSFER_FROM_HOST and GEM_CLOSE on a resource.
fn resource_ops(r: &mut Report, fd: BorrowedFd<'_>, rc: &virtgpu::ResourceCreate) {
    let mut ri = virtgpu::ResourceInfo {
        bo_handle: rc.bo_handle,
        ..Default::default()
    };
    let mut size = rc.size as usize;
    if r.ok(
        "virtgpu/resource-info",
        "RESOURCE_INFO",
        virtgpu::resource_info(fd, &mut ri),
    )
    .is_some()
    {
        r.check(
            "virtgpu/resource-info",
            ri.res_handle == rc.res_handle && ri.size >= rc.size,
            format!(
                "size {} (want >= {}) res {} (want {}) blob_mem {}",
                ri.size, rc.size, ri.res_handle, rc.res_handle, ri.blob_mem
            ),
        );
        size = size.max(ri.size as usize);
    }
    let mut m = virtgpu::Map {
        handle: rc.bo_handle,
        ..Default::default()
    };
    if r.ok("virtgpu/map", "MAP", virtgpu::map(fd, &mut m))
        .is_some()
    {
        r.check(
            "virtgpu/map",
            m.offset != 0 && m.offset.is_multiple_of(PAGE),
            format!("fake offset {:#x}", m.offset),
        );
        readback(r, "virtgpu/mmap", fd, m.offset, size, 0xa5a5_0002);
    } else {
        r.skip("virtgpu/mmap", "virtgpu/map failed");
    }
    let mut t = transfer(rc.bo_handle);
    if r.ok(
        "virtgpu/transfer-to-host",
        "TRANSFER_TO_HOST 64x64",
        virtgpu::transfer_to_host(fd, &mut t),
    )
    .is_some()
    {
        r.pass("virtgpu/transfer-to-host", "2D box 0,0 64x64");
    }
    let mut w = virtgpu::Wait {
        handle: rc.bo_handle,
        flags: 0,
    };
    let t0 = Instant::now();
    if r.ok("virtgpu/wait", "WAIT", virtgpu::wait(fd, &mut w))
        .is_some()
    {
        r.pass(
            "virtgpu/wait",
            format!("idle after {} ms", t0.elapsed().as_millis()),
        );
    }
    let mut w = virtgpu::Wait {
        handle: rc.bo_handle,
        flags: virtgpu::WAIT_NOWAIT,
    };
    if r.ok(
        "virtgpu/wait-nowait",
        "WAIT NOWAIT after WAIT",
        virtgpu::wait(fd, &mut w),
    )
    .is_some()
    {
        r.pass("virtgpu/wait-nowait", "idle");
    }
    let mut t = transfer(rc.bo_handle);
    r.errno(
        "virtgpu/transfer-from-host",
        "TRANSFER_FROM_HOST 64x64",
        virtgpu::transfer_from_host(fd, &mut t),
    );
    if r.ok(
        "virtgpu/close",
        "GEM_CLOSE",
        drm_ffi::gem::close(fd, rc.bo_handle),
    )
    .is_some()
    {
        let mut ri = virtgpu::ResourceInfo {
            bo_handle: rc.bo_handle,
            ..Default::default()
        };
        let after = virtgpu::resource_info(fd, &mut ri);
        r.check(
            "virtgpu/close",
            after.is_err(),
            format!(
                "bo {} closed; RESOURCE_INFO after close: {}",
                rc.bo_handle,
                outcome(&after, "succeeded")
            ),
        );
    }
}

/// Closes a file that still holds buffers (and a live mapping of one), then reopens.
fn check_close(r: &mut Report, path: &Path) {
    let Some(f) = r.ok("close/with-objects", "open", open_rw(path)) else {
        r.skip("close/mapping-outlives-fd", "open failed");
        r.skip("close/reopen", "open failed");
        return;
    };
    let fd = f.as_fd();
    let mut n = 0;
    let mut mapped = None;
    for i in 0..10 {
        match dumbbuffer::create(fd, 256, 256, 32, 0) {
            Ok(db) => {
                n += 1;
                if i == 0 {
                    mapped = Some(
                        dumbbuffer::map(fd, db.handle, 0, 0)
                            .and_then(|m| Mapping::new(fd, m.offset, db.size as usize))
                            .map_err(|e| err_name(&e)),
                    );
                }
            }
            Err(e) => {
                r.fail(
                    "close/with-objects",
                    format!("create {i} of 10: {}", err_name(&e)),
                );
                break;
            }
        }
    }
    drop(f);
    if n == 10 {
        r.pass(
            "close/with-objects",
            "10 dumb buffers (256x256) left alive, fd closed",
        );
    }
    match mapped {
        Some(Ok(mut m)) => {
            // The mapping keeps the file and the object alive after the fd is gone.
            mapping::fill(m.bytes(), 7);
            let ok = mapping::first_mismatch(m.bytes(), 7).is_none();
            drop(m);
            r.check(
                "close/mapping-outlives-fd",
                ok,
                "wrote and read a mapping after its fd was closed, then unmapped",
            );
        }
        Some(Err(e)) => r.fail("close/mapping-outlives-fd", format!("map/mmap: {e}")),
        None => r.skip("close/mapping-outlives-fd", "no buffer"),
    }
    let Some(f) = r.ok("close/reopen", "reopen", open_rw(path)) else {
        return;
    };
    let fd = f.as_fd();
    let v = version(fd).map(|(n, _)| n);
    let db = dumbbuffer::create(fd, 64, 64, 32, 0);
    let detail = format!(
        "VERSION {}; CREATE_DUMB {}",
        v.as_ref().map_or_else(err_name, |n| n.clone()),
        db.as_ref()
            .map_or_else(err_name, |d| format!("handle {}", d.handle))
    );
    r.check(
        "close/reopen",
        v.is_ok_and(|n| n == "virtio_gpu") && db.is_ok(),
        detail,
    );
}

/// A device file held open with a mapped dumb buffer ([`held_buffer`]).
struct Held {
    file: File,
    handle: u32,
    size: u64,
    m: Mapping,
}

/// The start of `hold` and `keep`: `path` opened, a 256x256 dumb buffer made, mapped and
/// filled with `pattern`; reported as `check`.
fn held_buffer(r: &mut Report, check: &str, path: &Path, pattern: u32) -> Option<Held> {
    let file = r.ok(check, "open", open_rw(path))?;
    let fd = file.as_fd();
    let db = r.ok(
        check,
        "CREATE_DUMB 256x256x32",
        dumbbuffer::create(fd, 256, 256, 32, 0),
    )?;
    let mut m = r.ok(
        check,
        "MAP_DUMB + mmap",
        dumbbuffer::map(fd, db.handle, 0, 0)
            .and_then(|m| Mapping::new(fd, m.offset, db.size as usize)),
    )?;
    mapping::fill(m.bytes(), pattern);
    r.pass(
        check,
        format!("fd open, dumb buffer {} mapped and written", db.handle),
    );
    Some(Held {
        file,
        handle: db.handle,
        size: db.size,
        m,
    })
}

/// Waits until `until` exists, for at most `secs` seconds; false (and `check` failed) if it
/// did not appear. The programs that hold something across an event wait so for the scenario.
pub(crate) fn wait_for_file(r: &mut Report, check: &str, until: &Path, secs: u64) -> bool {
    let t = Instant::now();
    while !until.exists() {
        if t.elapsed().as_secs() >= secs {
            r.fail(
                check,
                format!("{} did not appear in {secs} s", until.display()),
            );
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    true
}

/// Holds `path` open with a mapped dumb buffer until `until` exists (at most 30 s), then
/// checks that the mapping still reads back and that an ioctl fails as on the C driver after
/// its device was unplugged. Prints `HOLDING` (on stderr) once the buffer is mapped.
fn hold(r: &mut Report, path: &Path, until: &Path) {
    let Some(Held { file: f, mut m, .. }) = held_buffer(r, "hold/setup", path, 0x1234) else {
        return;
    };
    let fd = f.as_fd();
    eprintln!("HOLDING");
    if !wait_for_file(r, "hold/wait", until, 30) {
        return;
    }
    let same = mapping::first_mismatch(m.bytes(), 0x1234).is_none();
    r.check(
        "hold/mapping-after-unbind",
        same,
        "the mapping made before the unbind still reads back its pattern",
    );
    drop(m);
    r.errno(
        "hold/ioctl-after-unbind",
        "DRM_IOCTL_VERSION on the held fd",
        version(fd),
    );
    drop(f);
    r.pass("hold/close", "unmapped and closed after the unbind");
}

/// `--keep-until FILE`: a client that stays open across suspend and resume cycles (the
/// suspend scenario makes FILE when they are over). Before: a dumb buffer made, mapped and
/// written. After: the mapping still reads back its pattern (the pages are the guest's), the
/// fd answers, the held handle maps again, and a new buffer can be made, mapped, written
/// and destroyed: a 2D client sees no error.
fn keep(r: &mut Report, path: &Path, until: &Path) {
    let Some(Held {
        file: f,
        handle,
        size,
        mut m,
    }) = held_buffer(r, "keep/setup", path, 0x5a5a)
    else {
        return;
    };
    let fd = f.as_fd();
    eprintln!("KEEPING");
    if !wait_for_file(r, "keep/wait", until, 600) {
        return;
    }
    r.check(
        "keep/mapping",
        mapping::first_mismatch(m.bytes(), 0x5a5a).is_none(),
        "the mapping made before the suspends still reads back its pattern",
    );
    r.ok(
        "keep/version",
        "DRM_IOCTL_VERSION on the held fd",
        version(fd),
    );
    if let Some(same) = r.ok(
        "keep/map-again",
        "MAP_DUMB of the held handle + mmap",
        dumbbuffer::map(fd, handle, 0, 0)
            .and_then(|m| Mapping::new(fd, m.offset, size as usize))
            .map(|mut again| mapping::first_mismatch(again.bytes(), 0x5a5a).is_none()),
    ) {
        r.check(
            "keep/map-again-reads",
            same,
            "a new mapping of it reads the same",
        )
    }
    let fresh = dumbbuffer::create(fd, 64, 64, 32, 0).and_then(|nb| {
        let mut nm = Mapping::new(
            fd,
            dumbbuffer::map(fd, nb.handle, 0, 0)?.offset,
            nb.size as usize,
        )?;
        mapping::fill(nm.bytes(), 0x77);
        let same = mapping::first_mismatch(nm.bytes(), 0x77).is_none();
        drop(nm);
        dumbbuffer::destroy(fd, nb.handle)?;
        Ok(same)
    });
    if let Some(same) = r.ok(
        "keep/new-buffer",
        "CREATE_DUMB, map, write, DESTROY_DUMB",
        fresh,
    ) {
        r.check(
            "keep/new-buffer-reads",
            same,
            "the new buffer reads back what was written",
        );
    }
    drop(m);
    drop(f);
    r.pass("keep/close", "unmapped and closed after the suspends");
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut r = Report::default();
    eprintln!(
        "vgrs-uapi-test: label {} device {} render {}",
        args.label,
        args.device.display(),
        args.render.display()
    );
    if let Some(until) = &args.hold_until {
        hold(&mut r, &args.device, until);
    } else if let Some(until) = &args.keep_until {
        keep(&mut r, &args.device, until);
    } else if let Some(secs) = args.bench_exec {
        on_render(&mut r, &args.render, |r, fd| bench_exec(r, fd, secs));
    } else if let Some(n) = args.exec_loop {
        on_render(&mut r, &args.render, |r, fd| exec_loop(r, fd, n));
    } else if args.fault {
        match open_rw(&args.device) {
            Ok(f) => check_fault(&mut r, f.as_fd(), &args.render, args.virgl),
            Err(e) => r.fail(
                "open",
                format!("{}: {}", args.device.display(), err_name(&e)),
            ),
        }
    } else if let Some(until) = &args.hold_fence {
        hold_fence(&mut r, &args.render, until);
    } else if let Some(until) = &args.fence_hang {
        fence_hang(&mut r, &args.render, until);
    } else if let Some(until) = &args.lose_until {
        lose_context(&mut r, &args.render, until);
    } else if args.virgl {
        match open_rw(&args.render) {
            Ok(f) => check_virgl(&mut r, f.as_fd(), &args.render),
            Err(e) => r.fail(
                "open",
                format!("{}: {}", args.render.display(), err_name(&e)),
            ),
        }
    } else {
        run_all(&mut r, &args);
    }
    println!(
        "{} passed, {} failed, {} skipped",
        r.passed, r.failed, r.skipped
    );
    std::process::exit(if r.failed == 0 { 0 } else { 1 });
}

/// "ok" (or `ok` as given) for a success, the errno's name for a failure: check details.
pub(crate) fn outcome<T>(r: &io::Result<T>, ok: &str) -> String {
    match r {
        Ok(_) => ok.into(),
        Err(e) => err_name(e),
    }
}

fn run_all(r: &mut Report, args: &Args) {
    match open_rw(&args.device) {
        Err(e) => r.fail(
            "open",
            format!("{}: {}", args.device.display(), err_name(&e)),
        ),
        Ok(card) => {
            let fd = card.as_fd();
            check_version(r, fd);
            check_busid(r, fd);
            check_caps(r, fd);
            check_render(r, &args.render);
            check_getparam(r, fd);
            check_dumb(r, fd);
            check_huge_pages(r, fd, &args.label);
            check_bad_inputs(r, fd);
            check_cycles(r, fd);
            check_virtgpu(r, fd);
            check_transfer_bounds(r, fd, &args.label);
            drop(card);
            check_close(r, &args.device);
        }
    }
}
