// SPDX-License-Identifier: GPL-2.0
//! `vgrs-uapi-test --fault`: allocation failures injected into the driver's ioctl paths, one
//! at a time, under the debug kernel (`CONFIG_FAULT_INJECTION`, `FAILSLAB`,
//! `FAIL_PAGE_ALLOC`). The guest scenario aims the fault attributes at the driver module's
//! text (`require-start`/`require-end`: only an allocation with a frame of the driver on its
//! stack may fail) and this program uses the per-task counter `/proc/thread-self/fail-nth`:
//! for each operation, N = 1, 2, ... makes the N-th such allocation of the operation fail,
//! until the operation completes without reaching an N-th one. Each injected failure must
//! give an errno (or a success that did without the allocation), and the same operation must
//! succeed right after it: nothing half-built is left behind. The scenario then checks the
//! kernel log and kmemleak.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use drm_ffi::mode::{self, dumbbuffer};
use vgrs_guest::report::{err_name, Report};
use vgrs_guest::virtgpu;

use crate::{open_rw, resource_2d};

/// Most failures injected into one operation (none needs this many allocations).
const MAX_NTH: u32 = 400;

const XRGB8888: u32 = u32::from_le_bytes(*b"XR24");

/// The task's fail-nth counter (kept open: opening it is itself an allocation).
struct FailNth(File);

impl FailNth {
    fn open() -> io::Result<Self> {
        Ok(Self(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/proc/thread-self/fail-nth")?,
        ))
    }

    /// The `n`-th fault-injectable allocation from now on fails (0: none).
    fn set(&self, n: u32) -> io::Result<()> {
        rustix::io::pwrite(&self.0, n.to_string().as_bytes(), 0)?;
        Ok(())
    }

    /// Whether the armed failure was injected (the counter ran out).
    fn injected(&self) -> io::Result<bool> {
        let mut b = [0u8; 16];
        let n = rustix::io::pread(&self.0, &mut b, 0)?;
        let v: u32 = std::str::from_utf8(&b[..n])
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?
            .trim()
            .parse()
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
        Ok(v == 0)
    }
}

/// One operation under test: `run` does it and undoes what it made (so it can be repeated);
/// its result is what the ioctl under test returned.
struct Op<'a> {
    name: &'static str,
    run: Box<dyn FnMut() -> io::Result<()> + 'a>,
}

/// Runs `op` with failure N = 1, 2, ... injected; reports one check for it.
fn inject(r: &mut Report, nth: &FailNth, mut op: Op<'_>) {
    let name = format!("fault/{}", op.name);
    let (mut failed, mut ok_anyway, mut errnos) = (0u32, 0u32, Vec::<String>::new());
    for n in 1..=MAX_NTH {
        if let Err(e) = nth.set(n) {
            return r.fail(&name, format!("fail-nth: {}", err_name(&e)));
        }
        let res = (op.run)();
        let hit = nth.injected();
        let _ = nth.set(0);
        match hit {
            Ok(true) => {}
            Ok(false) => {
                // The operation needs fewer than n allocations: all were tried.
                if let Err(e) = res {
                    return r.fail(
                        &name,
                        format!("without an injected failure: {}", err_name(&e)),
                    );
                }
                let tried = n - 1;
                errnos.sort();
                errnos.dedup();
                return r.pass(
                    &name,
                    format!(
                        "{tried} allocations failed one at a time: {failed} errnos ({}), {ok_anyway} done without; the operation succeeds after each",
                        if errnos.is_empty() { "none".into() } else { errnos.join(" ") }
                    ),
                );
            }
            Err(e) => return r.fail(&name, format!("reading fail-nth: {}", err_name(&e))),
        }
        match res {
            Err(e) => {
                failed += 1;
                errnos.push(err_name(&e));
            }
            Ok(()) => ok_anyway += 1,
        }
        // Nothing half-built: the same operation works at once.
        if let Err(e) = (op.run)() {
            return r.fail(
                &name,
                format!(
                    "after failing allocation {n}: the operation fails: {}",
                    err_name(&e)
                ),
            );
        }
    }
    r.fail(
        &name,
        format!("still allocating after {MAX_NTH} injected failures"),
    );
}

/// The first connector's CRTC and mode, for a modeset.
fn pipe(fd: BorrowedFd<'_>) -> io::Result<(u32, u32, drm_ffi::drm_mode_modeinfo)> {
    let (mut crtcs, mut conns) = (Vec::new(), Vec::new());
    mode::get_resources(fd, None, Some(&mut crtcs), Some(&mut conns), None)?;
    let (Some(&crtc), Some(&conn)) = (crtcs.first(), conns.first()) else {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    };
    let mut modes = Vec::new();
    mode::get_connector(fd, conn, None, None, Some(&mut modes), None, false)?;
    let m = *modes
        .first()
        .ok_or(io::Error::from(io::ErrorKind::NotFound))?;
    Ok((crtc, conn, m))
}

/// The 2D operations, on the primary node `card`.
pub(crate) fn check_fault(r: &mut Report, card: BorrowedFd<'_>, render: &Path, virgl: bool) {
    let nth = match FailNth::open() {
        Ok(n) => n,
        Err(e) => {
            return r.fail(
                "fault/setup",
                format!("/proc/thread-self/fail-nth: {}", err_name(&e)),
            )
        }
    };
    // On the 3D device (make check-debug's virgl boot) only the 3D operations: the 2D ones
    // are the other debug boot's, and would add a minute to the longer lane.
    if virgl {
        return check_fault_virgl(r, &nth, render);
    }
    inject(
        r,
        &nth,
        Op {
            name: "dumb",
            run: Box::new(|| {
                let d = dumbbuffer::create(card, 256, 256, 32, 0)?;
                let m = dumbbuffer::map(card, d.handle, 0, 0);
                dumbbuffer::destroy(card, d.handle)?;
                m.map(|_| ())
            }),
        },
    );
    // A buffer for the framebuffer operations, made without failures.
    let Some((crtc, conn, m)) = r.ok("fault/setup", "the first connector's mode", pipe(card))
    else {
        return;
    };
    let (w, h) = (u32::from(m.hdisplay), u32::from(m.vdisplay));
    let Some(d) = r.ok(
        "fault/setup",
        "CREATE_DUMB",
        dumbbuffer::create(card, w, h, 32, 0),
    ) else {
        return;
    };
    let handles = [d.handle, 0, 0, 0];
    let pitches = [d.pitch, 0, 0, 0];
    inject(
        r,
        &nth,
        Op {
            name: "addfb2",
            run: Box::new(|| {
                let fb = mode::add_fb2(
                    card, w, h, XRGB8888, &handles, &pitches, &[0; 4], &[0; 4], 0,
                )?;
                mode::rm_fb(card, fb.fb_id)
            }),
        },
    );
    if let Some(fb) = r.ok(
        "fault/setup",
        "ADDFB2",
        mode::add_fb2(
            card, w, h, XRGB8888, &handles, &pitches, &[0; 4], &[0; 4], 0,
        ),
    ) {
        inject(
            r,
            &nth,
            Op {
                name: "setcrtc",
                run: Box::new(|| {
                    mode::set_crtc(card, crtc, fb.fb_id, 0, 0, &[conn], Some(m))?;
                    mode::set_crtc(card, crtc, 0, 0, 0, &[], None).map(|_| ())
                }),
            },
        );
        let _ = mode::rm_fb(card, fb.fb_id);
    }
    let _ = dumbbuffer::destroy(card, d.handle);
    inject(
        r,
        &nth,
        Op {
            name: "resource-create",
            run: Box::new(|| {
                let mut rc = resource_2d();
                virtgpu::resource_create(card, &mut rc)?;
                let mut map = virtgpu::Map {
                    handle: rc.bo_handle,
                    ..Default::default()
                };
                let m = virtgpu::map(card, &mut map);
                drm_ffi::gem::close(card, rc.bo_handle)?;
                m
            }),
        },
    );
}

/// The 3D operations: a new file's context (created on its first resource), EXECBUFFER with a
/// buffer object and an out fence, a fenced readback.
fn check_fault_virgl(r: &mut Report, nth: &FailNth, render: &Path) {
    inject(
        r,
        nth,
        Op {
            name: "virgl-context",
            run: Box::new(|| {
                let f = open_rw(render)?;
                let mut rc = resource_2d();
                virtgpu::resource_create(f.as_fd(), &mut rc)?;
                drm_ffi::gem::close(f.as_fd(), rc.bo_handle).map(|_| ())
            }),
        },
    );
    let Some(f) = r.ok("fault/setup", "open the render node", open_rw(render)) else {
        return;
    };
    let fd = f.as_fd();
    let mut rc = resource_2d();
    if r.ok(
        "fault/setup",
        "RESOURCE_CREATE",
        virtgpu::resource_create(fd, &mut rc),
    )
    .is_none()
    {
        return;
    }
    let bos = [rc.bo_handle];
    inject(
        r,
        nth,
        Op {
            name: "execbuffer",
            run: Box::new(|| {
                let x = virtgpu::Exec {
                    bos: &bos,
                    fence_fd: -1,
                    ..Default::default()
                };
                let fence: OwnedFd = virtgpu::execbuffer_fence_out(fd, &x)?;
                drop(fence);
                let mut w = virtgpu::Wait {
                    handle: rc.bo_handle,
                    flags: 0,
                };
                virtgpu::wait(fd, &mut w)
            }),
        },
    );
    inject(
        r,
        nth,
        Op {
            name: "transfer-from-host",
            run: Box::new(|| {
                let mut t = crate::transfer(rc.bo_handle);
                virtgpu::transfer_from_host(fd, &mut t)?;
                let mut w = virtgpu::Wait {
                    handle: rc.bo_handle,
                    flags: 0,
                };
                virtgpu::wait(fd, &mut w)
            }),
        },
    );
    let _ = drm_ffi::gem::close(fd, rc.bo_handle);
}
