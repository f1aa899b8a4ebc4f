// SPDX-License-Identifier: GPL-2.0
//! `vgrs-kms-test`: exercises the KMS uapi of a virtio-gpu driver from inside the guest, for
//! our Rust driver and the C driver alike: resources, connector and planes, framebuffers (good
//! and bad), legacy SETCRTC, DIRTYFB with clip rectangles, legacy and atomic page flips with
//! events, TEST_ONLY commits (which must not change anything), the legacy cursor ioctls and
//! RMFB of the scanned-out framebuffer, and the vblank: the vblank capabilities,
//! `WAIT_VBLANK` relative 1 and 3 (sequence and measured frame period), `CRTC_GET_SEQUENCE`,
//! and page-flip events with increasing sequence numbers and timestamps (the C driver has no
//! vblank: there these are SKIPs when it fails the known way, EOPNOTSUPP and sequence 0).
//! Prints one `PASS|FAIL|SKIP <check> <detail>` line per
//! check and a closing `N passed, N failed, N skipped`; exits 0 iff nothing failed.
//!
//! Usage: `vgrs-kms-test [--device /dev/dri/card0] [--label rs|c]` runs the checks;
//! `vgrs-kms-test --show` puts a known test picture on every connected connector: four
//! vertical bars, red, green, blue, white, rotated by one bar per connector index (so each
//! head shows its own picture), and keeps it there until standard input reaches end of file,
//! so a screendump can check its pixels.
//!
//! `vgrs-kms-test --bench SECS` measures, for about SECS seconds each: atomic page flips with
//! events between two full-screen framebuffers (flips/s), asynchronous where the driver offers
//! them (`flips`) and vblank-synchronised (`vsync`, paced at the refresh rate by a driver with
//! a vblank), full-screen DIRTYFB (uploads/s; a blocking commit, so also vblank-paced),
//! and dumb buffer create + map + destroy at the mode's size (buffers/s). It prints one
//! `BENCH <name> <value> <unit>` line per figure.

mod kms_crc;

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

use drm_ffi::mode::{self, dumbbuffer};
use drm_ffi::{
    drm_clip_rect, drm_event_vblank, drm_mode_modeinfo, DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP,
    DRM_CAP_CRTC_IN_VBLANK_EVENT, DRM_CAP_VBLANK_HIGH_CRTC, DRM_CLIENT_CAP_ATOMIC,
    DRM_CLIENT_CAP_UNIVERSAL_PLANES, DRM_EVENT_FLIP_COMPLETE, DRM_MODE_ATOMIC_ALLOW_MODESET,
    DRM_MODE_ATOMIC_NONBLOCK, DRM_MODE_ATOMIC_TEST_ONLY, DRM_MODE_OBJECT_CONNECTOR,
    DRM_MODE_OBJECT_CRTC, DRM_MODE_OBJECT_PLANE, DRM_MODE_PAGE_FLIP_ASYNC,
    DRM_MODE_PAGE_FLIP_EVENT, DRM_MODE_TYPE_PREFERRED,
};
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use vgrs_guest::mapping::Mapping;
use vgrs_guest::meminfo;
use vgrs_guest::report::{err_name, Report};
use vgrs_guest::vblank::crtc_get_sequence;
use vgrs_guest::virtgpu;

/// `DRM_FORMAT_XRGB8888` ('XR24').
const XRGB8888: u32 = u32::from_le_bytes(*b"XR24");
/// `DRM_FORMAT_ARGB8888` ('AR24').
const ARGB8888: u32 = u32::from_le_bytes(*b"AR24");
/// `DRM_FORMAT_RGB565` ('RG16'): a format no virtio-gpu plane takes.
const RGB565: u32 = u32::from_le_bytes(*b"RG16");
/// Plane `type` property values.
const PLANE_PRIMARY: u64 = 1;
const PLANE_CURSOR: u64 = 2;
/// The four bars of the test picture (XRGB8888 words).
pub const BARS: [u32; 4] = [0x00ff_0000, 0x0000_ff00, 0x0000_00ff, 0x00ff_ffff];
/// How long a flip event may take (the C driver's fake vblank answers at once; TCG is slow).
const EVENT_TIMEOUT: Duration = Duration::from_secs(2);

struct Args {
    device: String,
    label: String,
    show: bool,
    bench: Option<f64>,
    /// `--dumb-loop N`: N dumb buffer cycles of the bench, untimed (tests/guest/profile.sh).
    dumb_loop: Option<u64>,
    /// `--dumb-size WxH`: the buffers of `--dumb-loop` (default 1280x800).
    dumb_size: (u32, u32),
    /// `--dumb-hold`: `--dumb-loop N` creates all N buffers first, then destroys them all.
    dumb_hold: bool,
    /// `--dumb-gap MS`: `--dumb-loop N` sleeps MS milliseconds after each cycle.
    dumb_gap: u64,
    /// `--dumb-alt PATH`: `--dumb-loop N` alternates its cycles between the device and PATH
    /// (two drivers bound at once, one device each: the same process and memory for both).
    dumb_alt: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        device: "/dev/dri/card0".into(),
        label: "drv".into(),
        show: false,
        bench: None,
        dumb_loop: None,
        dumb_size: (1280, 800),
        dumb_hold: false,
        dumb_gap: 0,
        dumb_alt: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--device" => args.device = val()?,
            "--label" => args.label = val()?,
            "--show" => args.show = true,
            "--bench" => args.bench = Some(val()?.parse().map_err(|e| format!("--bench: {e}"))?),
            "--dumb-loop" => {
                args.dumb_loop = Some(val()?.parse().map_err(|e| format!("--dumb-loop: {e}"))?)
            }
            "--dumb-hold" => args.dumb_hold = true,
            "--dumb-alt" => args.dumb_alt = Some(val()?),
            "--dumb-gap" => {
                args.dumb_gap = val()?.parse().map_err(|e| format!("--dumb-gap: {e}"))?
            }
            "--dumb-size" => {
                let v = val()?;
                let (w, h) = v.split_once('x').ok_or("--dumb-size: want WxH")?;
                args.dumb_size = (
                    w.parse().map_err(|e| format!("--dumb-size: {e}"))?,
                    h.parse().map_err(|e| format!("--dumb-size: {e}"))?,
                );
            }
            _ => {
                return Err(format!(
                    "usage: vgrs-kms-test [--device PATH] [--label L] [--show] [--bench SECS] \
                     [--dumb-loop N [--dumb-size WxH] [--dumb-hold | --dumb-gap MS | --dumb-alt PATH]]\n\
                     unknown argument {a}"
                ))
            }
        }
    }
    Ok(args)
}

fn open_rw(path: &str) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// A dumb buffer with a framebuffer on it, both freed on drop.
struct Fb<'a> {
    fd: BorrowedFd<'a>,
    handle: u32,
    fb: u32,
    pitch: u32,
    size: u64,
}

impl<'a> Fb<'a> {
    /// A `w` x `h` XRGB8888 (or `format`) framebuffer filled with `fill(x) -> word`.
    fn new(
        fd: BorrowedFd<'a>,
        w: u32,
        h: u32,
        format: u32,
        fill: impl Fn(u32) -> u32,
    ) -> io::Result<Self> {
        let d = dumbbuffer::create(fd, w, h, 32, 0)?;
        let mut me = Fb {
            fd,
            handle: d.handle,
            fb: 0,
            pitch: d.pitch,
            size: d.size,
        };
        let off = dumbbuffer::map(fd, d.handle, 0, 0)?.offset;
        let mut m = Mapping::new(fd, off, d.size as usize)?;
        let bytes = m.bytes();
        for y in 0..h as usize {
            let row = &mut bytes[y * d.pitch as usize..][..w as usize * 4];
            for (x, px) in row.chunks_exact_mut(4).enumerate() {
                px.copy_from_slice(&fill(x as u32).to_le_bytes());
            }
        }
        drop(m);
        let fb = mode::add_fb2(
            fd,
            w,
            h,
            format,
            &[d.handle, 0, 0, 0],
            &[d.pitch, 0, 0, 0],
            &[0; 4],
            &[0; 4],
            0,
        )?;
        me.fb = fb.fb_id;
        Ok(me)
    }
}

impl Drop for Fb<'_> {
    fn drop(&mut self) {
        if self.fb != 0 {
            let _ = mode::rm_fb(self.fd, self.fb);
        }
        let _ = dumbbuffer::destroy(self.fd, self.handle);
    }
}

/// The bar (0 to 3) that column `x` of a `w` wide picture is in.
fn bar_index(x: u32, w: u32) -> usize {
    (u64::from(x) * 4 / u64::from(w.max(1))).min(3) as usize
}

/// The word of the test picture at column `x` of a `w` wide mode.
fn bar(x: u32, w: u32) -> u32 {
    BARS[bar_index(x, w)]
}

/// What the tests drive: a connected connector, its CRTC, its planes, a mode.
struct Pipe {
    conn: u32,
    crtc: u32,
    primary: u32,
    cursor: Option<u32>,
    mode: drm_mode_modeinfo,
    crtcs: Vec<u32>,
    encoders: Vec<u32>,
    planes: Vec<u32>,
}

fn mode_name(m: &drm_mode_modeinfo) -> String {
    format!("{}x{}@{}", m.hdisplay, m.vdisplay, m.vrefresh)
}

/// Property ids of object `obj` by name, with values.
fn props(fd: BorrowedFd<'_>, obj: u32, kind: u32) -> io::Result<Vec<(String, u32, u64)>> {
    let (mut ids, mut vals) = (Vec::new(), Vec::new());
    mode::get_properties(fd, obj, kind, Some(&mut ids), Some(&mut vals))?;
    let mut out = Vec::new();
    for (id, v) in ids.into_iter().zip(vals) {
        // The values and enums must be asked for too: drm-ffi passes their counts back in.
        let (mut pv, mut pe) = (Vec::new(), Vec::new());
        let p = mode::get_property(fd, id, Some(&mut pv), Some(&mut pe))?;
        let name: Vec<u8> = p
            .name
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        out.push((String::from_utf8_lossy(&name).into_owned(), id, v));
    }
    Ok(out)
}

fn prop_id(list: &[(String, u32, u64)], name: &str) -> Option<u32> {
    list.iter().find(|p| p.0 == name).map(|p| p.1)
}

fn find_pipe(fd: BorrowedFd<'_>, want_conn: Option<u32>) -> Result<Pipe, String> {
    let e = |what: &str, e: io::Error| format!("{what}: {}", err_name(&e));
    let (mut crtcs, mut conns, mut encs) = (Vec::new(), Vec::new(), Vec::new());
    mode::get_resources(
        fd,
        None,
        Some(&mut crtcs),
        Some(&mut conns),
        Some(&mut encs),
    )
    .map_err(|x| e("GETRESOURCES", x))?;
    let mut planes = Vec::new();
    mode::get_plane_resources(fd, Some(&mut planes)).map_err(|x| e("GETPLANERESOURCES", x))?;
    for &c in &conns {
        if want_conn.is_some_and(|w| w != c) {
            continue;
        }
        let mut modes = Vec::new();
        let mut cenc = Vec::new();
        let info = mode::get_connector(fd, c, None, None, Some(&mut modes), Some(&mut cenc), true)
            .map_err(|x| e("GETCONNECTOR", x))?;
        if info.connection != 1 || modes.is_empty() {
            continue;
        }
        let mode = *modes
            .iter()
            .find(|m| m.type_ & DRM_MODE_TYPE_PREFERRED != 0)
            .unwrap_or(&modes[0]);
        let enc = *cenc.first().ok_or("connector without encoders")?;
        let enc = mode::get_encoder(fd, enc).map_err(|x| e("GETENCODER", x))?;
        let crtc_idx = (0..crtcs.len())
            .find(|i| enc.possible_crtcs & (1 << i) != 0)
            .ok_or("encoder without a possible CRTC")?;
        let crtc = crtcs[crtc_idx];
        let (mut primary, mut cursor) = (None, None);
        for &p in &planes {
            let pi = mode::get_plane(fd, p, None).map_err(|x| e("GETPLANE", x))?;
            if pi.possible_crtcs & (1 << crtc_idx) == 0 {
                continue;
            }
            let pp = props(fd, p, DRM_MODE_OBJECT_PLANE).map_err(|x| e("plane properties", x))?;
            match pp.iter().find(|x| x.0 == "type").map(|x| x.2) {
                Some(PLANE_PRIMARY) if primary.is_none() => primary = Some(p),
                Some(PLANE_CURSOR) if cursor.is_none() => cursor = Some(p),
                _ => {}
            }
        }
        return Ok(Pipe {
            conn: c,
            crtc,
            primary: primary.ok_or("no primary plane for the CRTC")?,
            cursor,
            mode,
            crtcs,
            encoders: encs,
            planes,
        });
    }
    Err(format!("no connected connector among {conns:?}"))
}

/// Waits for one DRM event on `fd` and returns it as a vblank/flip event.
fn read_event(fd: BorrowedFd<'_>, file: &File) -> Result<(drm_event_vblank, Duration), String> {
    let start = Instant::now();
    let mut pfd = [PollFd::new(&fd, PollFlags::IN)];
    let ms = EVENT_TIMEOUT.as_millis() as i32;
    let ts = rustix::event::Timespec {
        tv_sec: i64::from(ms / 1000),
        tv_nsec: i64::from(ms % 1000) * 1_000_000,
    };
    match poll(&mut pfd, Some(&ts)) {
        Ok(0) => return Err(format!("no event within {} ms", ms)),
        Ok(_) => {}
        Err(e) => return Err(format!("poll: {e}")),
    }
    let mut buf = [0u8; 64];
    let n = (&*file)
        .read(&mut buf)
        .map_err(|e| format!("read: {}", err_name(&e)))?;
    if n < std::mem::size_of::<drm_event_vblank>() {
        return Err(format!("short event: {n} bytes"));
    }
    let w = |o: usize| u32::from_ne_bytes([buf[o], buf[o + 1], buf[o + 2], buf[o + 3]]);
    let ev = drm_event_vblank {
        base: drm_ffi::drm_event {
            type_: w(0),
            length: w(4),
        },
        user_data: u64::from(w(8)) | u64::from(w(12)) << 32,
        tv_sec: w(16),
        tv_usec: w(20),
        sequence: w(24),
        crtc_id: w(28),
    };
    Ok((ev, start.elapsed()))
}

/// An atomic request: (object, property, value) triples, grouped by object.
fn atomic(fd: BorrowedFd<'_>, flags: u32, sets: &[(u32, u32, u64)]) -> io::Result<()> {
    let mut objs: Vec<u32> = Vec::new();
    let mut counts: Vec<u32> = Vec::new();
    let mut ids = Vec::new();
    let mut vals = Vec::new();
    for &(o, _, _) in sets {
        if !objs.contains(&o) {
            objs.push(o);
        }
    }
    for &o in &objs {
        let mine: Vec<_> = sets.iter().filter(|s| s.0 == o).collect();
        counts.push(mine.len() as u32);
        for s in mine {
            ids.push(s.1);
            vals.push(s.2);
        }
    }
    mode::atomic_commit(fd, flags, &mut objs, &mut counts, &mut ids, &mut vals)
}

fn errno_of<T>(r: &io::Result<T>) -> Option<Errno> {
    r.as_ref().err().and_then(Errno::from_io_error)
}

fn run(r: &mut Report, file: &File, label: &str) {
    let fd = file.as_fd();
    if let Err(e) = drm_ffi::set_capability(fd, u64::from(DRM_CLIENT_CAP_UNIVERSAL_PLANES), true) {
        r.fail(
            "kms/universal-planes",
            format!("SET_CLIENT_CAP: {}", err_name(&e)),
        );
        return;
    }
    let p = match find_pipe(fd, None) {
        Ok(p) => p,
        Err(e) => {
            r.fail("kms/pipe", e);
            return;
        }
    };
    r.pass(
        "kms/pipe",
        format!(
            "{} CRTCs, {} encoders, {} planes; connector {} connected, preferred {}, CRTC {}, primary plane {}, cursor plane {:?}",
            p.crtcs.len(),
            p.encoders.len(),
            p.planes.len(),
            p.conn,
            mode_name(&p.mode),
            p.crtc,
            p.primary,
            p.cursor
        ),
    );
    r.check(
        "kms/planes-per-crtc",
        p.planes.len() == 2 * p.crtcs.len() && p.cursor.is_some(),
        format!(
            "{} planes for {} CRTCs (want a primary and a cursor each)",
            p.planes.len(),
            p.crtcs.len()
        ),
    );
    let mut formats = Vec::new();
    let pf = mode::get_plane(fd, p.primary, Some(&mut formats)).map(|_| formats.clone());
    if let Some(f) = r.ok("kms/primary-formats", "GETPLANE", pf) {
        r.check(
            "kms/primary-formats",
            f.contains(&XRGB8888),
            format!("primary formats {:08x?} (want XRGB8888 {XRGB8888:08x})", f),
        );
    }
    if let Some(c) = p.cursor {
        let mut formats = Vec::new();
        let cf = mode::get_plane(fd, c, Some(&mut formats)).map(|_| formats.clone());
        if let Some(f) = r.ok("kms/cursor-formats", "GETPLANE", cf) {
            r.check(
                "kms/cursor-formats",
                f.contains(&ARGB8888),
                format!("cursor formats {:08x?} (want ARGB8888 {ARGB8888:08x})", f),
            );
        }
    }

    let (w, h) = (u32::from(p.mode.hdisplay), u32::from(p.mode.vdisplay));
    // Framebuffer creation: bad format, buffer too small, good ones.
    let bad = Fb::new(fd, 64, 64, RGB565, |_| 0);
    // The C driver's fb_create refuses formats other than XRGB/ARGB8888 with ENOENT; ours
    // with EINVAL, the DRM core's answer for a format no plane takes (igt kms_addfb_basic
    // too-high expects it).
    let (want, name) = if label == "c" {
        (Errno::NOENT, "ENOENT")
    } else {
        (Errno::INVAL, "EINVAL")
    };
    match errno_of(&bad) {
        Some(e) if e == want => r.pass(
            "kms/addfb-bad-format",
            format!("ADDFB2 RGB565 -> {name} (C driver: ENOENT, ours: EINVAL)"),
        ),
        _ => r.fail(
            "kms/addfb-bad-format",
            format!(
                "ADDFB2 RGB565 -> {:?}; want {name} (C driver: ENOENT, ours: EINVAL)",
                bad.as_ref().map(|f| f.fb).map_err(err_name),
            ),
        ),
    }
    drop(bad);
    check_bo_too_small(r, fd, label);
    let fb1 = match Fb::new(fd, w, h, XRGB8888, |x| bar(x, w)) {
        Ok(f) => f,
        Err(e) => {
            r.fail("kms/addfb", format!("{w}x{h} XRGB8888: {}", err_name(&e)));
            return;
        }
    };
    let fb2 = match Fb::new(fd, w, h, XRGB8888, |x| bar(w - 1 - x, w)) {
        Ok(f) => f,
        Err(e) => {
            r.fail("kms/addfb", format!("second {w}x{h}: {}", err_name(&e)));
            return;
        }
    };
    r.pass(
        "kms/addfb",
        format!(
            "two {w}x{h} XRGB8888 framebuffers {} and {} (pitch {}, size {})",
            fb1.fb, fb2.fb, fb1.pitch, fb1.size
        ),
    );

    // Legacy mode set.
    let set = mode::set_crtc(fd, p.crtc, fb1.fb, 0, 0, &[p.conn], Some(p.mode));
    if r.ok("kms/setcrtc", "SETCRTC", set).is_none() {
        return;
    }
    match mode::get_crtc(fd, p.crtc) {
        Ok(c) if c.fb_id == fb1.fb && c.mode_valid == 1 && c.mode.hdisplay == p.mode.hdisplay => r
            .pass(
                "kms/setcrtc",
                format!(
                    "CRTC {} scans out fb {} at {}",
                    p.crtc,
                    fb1.fb,
                    mode_name(&c.mode)
                ),
            ),
        Ok(c) => r.fail(
            "kms/setcrtc",
            format!(
                "GETCRTC after SETCRTC: fb {} mode_valid {}",
                c.fb_id, c.mode_valid
            ),
        ),
        Err(e) => r.fail("kms/setcrtc", format!("GETCRTC: {}", err_name(&e))),
    }

    // DIRTYFB with two clip rectangles, then one covering the whole framebuffer. (drm-ffi
    // passes a dangling non-null pointer for an empty list, which DRM refuses as EINVAL.)
    let clips = [
        drm_clip_rect {
            x1: 0,
            y1: 0,
            x2: 64,
            y2: 32,
        },
        drm_clip_rect {
            x1: (w / 2) as u16,
            y1: (h / 2) as u16,
            x2: w as u16,
            y2: h as u16,
        },
    ];
    let whole = [drm_clip_rect {
        x1: 0,
        y1: 0,
        x2: w as u16,
        y2: h as u16,
    }];
    let d = mode::dirty_fb(fd, fb1.fb, &clips).and_then(|_| mode::dirty_fb(fd, fb1.fb, &whole));
    if r.ok("kms/dirtyfb", "DIRTYFB", d).is_some() {
        r.pass(
            "kms/dirtyfb",
            "2 clip rectangles, then one for the whole framebuffer",
        );
    }

    check_vblank(r, fd, file, &p, label, &fb1, &fb2);

    // Legacy page flip with an event.
    let flip = mode::page_flip(fd, p.crtc, fb2.fb, DRM_MODE_PAGE_FLIP_EVENT, 0);
    if r.ok("kms/page-flip-event", "PAGE_FLIP", flip).is_some() {
        match read_event(fd, file) {
            Ok((ev, t)) => r.check(
                "kms/page-flip-event",
                ev.base.type_ == DRM_EVENT_FLIP_COMPLETE && ev.user_data == u64::from(p.crtc),
                format!(
                    "event type {} (want {DRM_EVENT_FLIP_COMPLETE}) user_data {} (want {}) crtc {} after {} ms",
                    ev.base.type_, ev.user_data, p.crtc, ev.crtc_id, t.as_millis()
                ),
            ),
            Err(e) => r.fail("kms/page-flip-event", e),
        }
        let now = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id);
        r.check(
            "kms/page-flip-fb",
            now.as_ref().ok() == Some(&fb2.fb),
            format!(
                "GETCRTC after the flip: fb {:?} (want {})",
                now.map_err(|e| err_name(&e)),
                fb2.fb
            ),
        );
    }

    // Atomic: TEST_ONLY (good and bad) must not change anything; a flip with an event.
    if let Err(e) = drm_ffi::set_capability(fd, u64::from(DRM_CLIENT_CAP_ATOMIC), true) {
        r.fail(
            "kms/atomic-cap",
            format!("SET_CLIENT_CAP ATOMIC: {}", err_name(&e)),
        );
    } else {
        check_atomic(r, fd, file, &p, &fb1, &fb2);
        check_rows_past_buffer(r, fd, &p, label);
    }

    if let Some(_c) = p.cursor {
        check_cursor(r, fd, &p);
        kms_crc::check_crc(r, fd, &p, label);
        check_cursor_async(r, fd, file, &p, &fb1, &fb2, label);
    }
    check_mode_invalid(r, fd, &p, &fb1, label);
    check_modeset_event(r, fd, file, &p, label);

    // RMFB of the framebuffer being scanned out takes it off the primary plane (the atomic
    // core disables the plane; the CRTC keeps its mode).
    let cur = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id).unwrap_or(0);
    let (keep, gone) = if cur == fb1.fb {
        (fb2, fb1)
    } else {
        (fb1, fb2)
    };
    let mut gone = gone;
    let rm = mode::rm_fb(fd, gone.fb);
    if r.ok("kms/rmfb-active", "RMFB", rm).is_some() {
        gone.fb = 0;
        let c = mode::get_crtc(fd, p.crtc);
        r.check(
            "kms/rmfb-active",
            c.as_ref().is_ok_and(|c| c.fb_id == 0),
            format!(
                "RMFB of the scanned-out fb {cur}; CRTC now fb {:?} mode_valid {:?}",
                c.as_ref().map(|c| c.fb_id).map_err(err_name),
                c.as_ref().map(|c| c.mode_valid).ok()
            ),
        );
    }
    drop(keep);
}

/// Whether an event is ready on `fd` now (poll with no wait).
fn event_ready(fd: BorrowedFd<'_>) -> bool {
    let mut pfd = [PollFd::new(&fd, PollFlags::IN)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut pfd, Some(&zero)).is_ok_and(|n| n > 0)
}

/// Legacy cursor moves while a page flip waits for its vblank are applied at once (the
/// cursor plane's async update), not after the flip. The CRTC is set to its mode at a 2 Hz
/// refresh (a frame of 500 ms), so that no timing margin is needed: right after a vblank (a
/// flip event just read) a new flip is queued, the cursor moved three times, and the flip's
/// event must not be ready yet. A cursor update committed the normal way waits for the
/// pending flip, so its event is always ready by then. Three tries, two must show it (a
/// guest stalled for half a second would spoil one). igt kms_cursor_legacy's flip-vs-cursor
/// and cursor-vs-flip subtests need this, with a 13 ms frame.
#[allow(deprecated)]
fn check_cursor_async(
    r: &mut Report,
    fd: BorrowedFd<'_>,
    file: &File,
    p: &Pipe,
    fb1: &Fb,
    fb2: &Fb,
    label: &str,
) {
    let name = "kms/cursor-async";
    if label == "c" {
        return r.skip(name, format!("{C_NO_VBLANK}: its flips complete at once"));
    }
    let mut slow = p.mode;
    slow.clock = (u64::from(slow.htotal) * u64::from(slow.vtotal) * 2 / 1000).max(1) as u32;
    slow.vrefresh = 2;
    if let Err(e) = mode::set_crtc(fd, p.crtc, fb1.fb, 0, 0, &[p.conn], Some(slow)) {
        return r.fail(name, format!("SETCRTC at 2 Hz: {}", err_name(&e)));
    }
    let Ok(d) = dumbbuffer::create(fd, 64, 64, 32, 0) else {
        return r.fail(name, "CREATE_DUMB of a 64x64 cursor");
    };
    let mut cur = fb1.fb;
    let flip = |cur: &mut u32| -> Result<(), String> {
        let next = if *cur == fb1.fb { fb2.fb } else { fb1.fb };
        mode::page_flip(fd, p.crtc, next, DRM_MODE_PAGE_FLIP_EVENT, 0)
            .map_err(|e| format!("PAGE_FLIP: {}", err_name(&e)))?;
        *cur = next;
        Ok(())
    };
    let mut before = 0;
    let mut tries = Vec::new();
    let res = (|| -> Result<(), String> {
        mode::set_cursor(fd, p.crtc, d.handle, 64, 64)
            .map_err(|e| format!("SET_CURSOR: {}", err_name(&e)))?;
        // In step with the vblank: a flip, its event.
        flip(&mut cur)?;
        read_event(fd, file)?;
        for i in 0..3 {
            flip(&mut cur)?;
            let t0 = Instant::now();
            for k in 0..3 {
                mode::move_cursor(fd, p.crtc, 40 * i + 10 * k, 30)
                    .map_err(|e| format!("MOVE_CURSOR: {}", err_name(&e)))?;
            }
            let moves = t0.elapsed();
            let ready = event_ready(fd);
            tries.push(format!(
                "{} ms{}",
                moves.as_millis(),
                if ready { " (flip done first)" } else { "" }
            ));
            if !ready {
                before += 1;
            }
            read_event(fd, file)?;
        }
        Ok(())
    })();
    let _ = mode::set_cursor(fd, p.crtc, 0, 0, 0);
    let _ = dumbbuffer::destroy(fd, d.handle);
    let back = mode::set_crtc(fd, p.crtc, fb1.fb, 0, 0, &[p.conn], Some(p.mode));
    match res.and(back.map(|_| ()).map_err(|e| format!("SETCRTC back: {}", err_name(&e)))) {
        Err(e) => r.fail(name, e),
        Ok(()) => r.check(
            name,
            before >= 2,
            format!(
                "at 2 Hz, 3 cursor moves with a flip pending, 3 tries: {before} done before the flip (moves took {})",
                tries.join(", ")
            ),
        ),
    }
}

/// Modes with absurd timings are refused (igt kms_invalid_mode int-max-clock and
/// overflow-vrefresh): SETCRTC with the pixel clock at `INT_MAX` kHz, and with totals of
/// 32768 x 32768 scanned 4 times (2^32 pixels a frame, 0 in 32-bit arithmetic), must fail
/// with EINVAL; the C driver accepts both.
fn check_mode_invalid(r: &mut Report, fd: BorrowedFd<'_>, p: &Pipe, fb: &Fb, label: &str) {
    let mut clock = p.mode;
    clock.clock = i32::MAX as u32;
    let mut totals = p.mode;
    totals.htotal = 32768;
    totals.vtotal = 32768;
    totals.vscan = 4;
    for (name, m, what) in [
        ("kms/mode-int-max-clock", clock, "clock INT_MAX kHz"),
        (
            "kms/mode-overflow-vrefresh",
            totals,
            "totals 32768 x 32768 x vscan 4",
        ),
    ] {
        let res = mode::set_crtc(fd, p.crtc, fb.fb, 0, 0, &[p.conn], Some(m));
        let got = res.as_ref().map(|_| ()).map_err(err_name);
        if label == "c" {
            // Put the real mode back before anything else runs on this absurd one.
            let _ = mode::set_crtc(fd, p.crtc, fb.fb, 0, 0, &[p.conn], Some(p.mode));
            r.skip(
                name,
                format!("the C driver does not check mode timings: SETCRTC {what} -> {got:?}"),
            );
        } else {
            r.check(
                name,
                errno_of(&res) == Some(Errno::INVAL),
                format!("SETCRTC {what} -> {got:?} (want EINVAL)"),
            );
        }
    }
    let back = mode::set_crtc(fd, p.crtc, fb.fb, 0, 0, &[p.conn], Some(p.mode));
    r.ok("kms/mode-restore", "SETCRTC with the real mode", back);
}

/// The event of a nonblocking modeset that turns the CRTC on comes with the first vblank
/// after it, not at once (igt kms_cursor_legacy's nonblocking-modeset-vs-cursor-atomic polls
/// for it right after the commit). ACTIVE off (blocking), then ACTIVE on with NONBLOCK and an
/// event: the event's vblank timestamp must be at least half a frame after the commit started
/// (the emulated vblank's first period starts when the CRTC is enabled; an event sent at once
/// is stamped within a millisecond or two of the enable). The timestamp is the driver's own
/// (CLOCK_MONOTONIC, as DRM stamps events), so a test process that the guest does not schedule
/// for a frame or two after the ioctl (the debug kernel under TCG) cannot fail a correct
/// driver; whether the event was readable right after the ioctl is reported, not judged.
fn check_modeset_event(r: &mut Report, fd: BorrowedFd<'_>, file: &File, p: &Pipe, label: &str) {
    let name = "kms/modeset-event";
    let cp = props(fd, p.crtc, DRM_MODE_OBJECT_CRTC).unwrap_or_default();
    let Some(active) = prop_id(&cp, "ACTIVE") else {
        return r.fail(name, "no ACTIVE property on the CRTC");
    };
    let off = atomic(fd, DRM_MODE_ATOMIC_ALLOW_MODESET, &[(p.crtc, active, 0)]);
    if let Err(e) = off {
        return r.fail(name, format!("ACTIVE=0: {}", err_name(&e)));
    }
    let flags = DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
    let t0 = Instant::now();
    let start = mono_now();
    if let Err(e) = atomic(fd, flags, &[(p.crtc, active, 1)]) {
        return r.fail(
            name,
            format!("ACTIVE=1, NONBLOCK with an event: {}", err_name(&e)),
        );
    }
    let at_once = event_ready(fd);
    let ev = read_event(fd, file);
    let after = t0.elapsed();
    let half = frame_period(&p.mode) / 2;
    match ev {
        Err(e) => r.fail(name, e),
        Ok(_) if label == "c" => r.skip(
            name,
            format!(
                "{C_NO_VBLANK}: the event came after {} us{}",
                after.as_micros(),
                if at_once { ", ready at once" } else { "" }
            ),
        ),
        Ok((ev, _)) => {
            let stamp = ts(i64::from(ev.tv_sec), i64::from(ev.tv_usec));
            let gap = stamp.saturating_sub(start);
            r.check(
                name,
                stamp >= start + half,
                format!(
                    "nonblocking ACTIVE=1: event stamped {} us after the commit started (want at least half a frame, {} us); read after {} us, ready at once: {at_once}",
                    gap.as_micros(),
                    half.as_micros(),
                    after.as_micros()
                ),
            )
        }
    }
}

/// CLOCK_MONOTONIC now, the clock DRM stamps vblank events with.
fn mono_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    ts(t.tv_sec, t.tv_nsec / 1000)
}

/// Why the vblank checks are skipped on the C driver.
const C_NO_VBLANK: &str = "the C driver has no vblank";

/// The frame period of mode `m` as the vblank core computes it (`framedur_ns`: htotal x vtotal
/// pixels at the dot clock), or 1/60 s if the mode has no clock.
fn frame_period(m: &drm_mode_modeinfo) -> Duration {
    let pixels = u64::from(m.htotal) * u64::from(m.vtotal);
    match pixels * 1_000_000 / u64::from(m.clock.max(1)) {
        ns if m.clock > 0 && ns > 0 => Duration::from_nanos(ns),
        _ => Duration::from_nanos(16_666_667),
    }
}

/// Is `measured` within 0.5x to 4x of `want` (TCG is slow; timers are not exact)?
fn about(measured: Duration, want: Duration) -> bool {
    measured >= want / 2 && measured <= want * 4
}

/// For the C driver, an ioctl that needs a vblank must fail with EOPNOTSUPP (SKIP); success
/// or another errno is a FAIL.
fn c_no_vblank<T>(r: &mut Report, name: &str, what: &str, res: io::Result<T>) {
    match res {
        Err(e) if Errno::from_io_error(&e) == Some(Errno::OPNOTSUPP) => {
            r.skip(name, format!("{C_NO_VBLANK}: {what} -> EOPNOTSUPP"))
        }
        Err(e) => r.fail(
            name,
            format!("{what} -> {}; want EOPNOTSUPP (no vblank)", err_name(&e)),
        ),
        Ok(_) => r.fail(
            name,
            format!("{what} succeeded on the C driver, which has no vblank"),
        ),
    }
}

/// A vblank timestamp (seconds, microseconds) as a duration since boot.
fn ts(sec: i64, usec: i64) -> Duration {
    Duration::from_secs(sec.max(0) as u64) + Duration::from_micros(usec.max(0) as u64)
}

/// The vblank of the active CRTC: capabilities, WAIT_VBLANK relative 1 and 3,
/// CRTC_GET_SEQUENCE, page-flip events with sequence numbers and timestamps.
fn check_vblank(
    r: &mut Report,
    fd: BorrowedFd<'_>,
    file: &File,
    p: &Pipe,
    label: &str,
    fb1: &Fb,
    fb2: &Fb,
) {
    let c = label == "c";
    // Both capabilities are answered by the DRM core, 1 for every KMS driver.
    for (name, cap) in [
        ("kms/cap-vblank-high-crtc", DRM_CAP_VBLANK_HIGH_CRTC),
        ("kms/cap-crtc-in-vblank-event", DRM_CAP_CRTC_IN_VBLANK_EVENT),
    ] {
        match drm_ffi::get_capability(fd, u64::from(cap)) {
            Ok(v) => r.check(
                name,
                v.value == 1,
                format!("GET_CAP {cap} -> {} (want 1)", v.value),
            ),
            Err(e) => r.fail(name, format!("GET_CAP {cap}: {}", err_name(&e))),
        }
    }
    let period = frame_period(&p.mode);
    let pipe = p.crtcs.iter().position(|&id| id == p.crtc).unwrap_or(0) as u32;
    // `_DRM_VBLANK_RELATIVE` with the CRTC index in the high-CRTC bits.
    let rel = drm_ffi::drm_sys::drm_vblank_seq_type::_DRM_VBLANK_RELATIVE
        | ((pipe << drm_ffi::drm_sys::_DRM_VBLANK_HIGH_CRTC_SHIFT)
            & drm_ffi::drm_sys::drm_vblank_seq_type::_DRM_VBLANK_HIGH_CRTC_MASK);

    // WAIT_VBLANK: a query (relative 0), then relative 1 and 3.
    let q = drm_ffi::wait_vblank(fd, rel, 0, 0);
    if c {
        c_no_vblank(r, "kms/wait-vblank-query", "WAIT_VBLANK relative 0", q);
        for n in [1u32, 3] {
            let w = drm_ffi::wait_vblank(fd, rel, n, 0);
            c_no_vblank(
                r,
                &format!("kms/wait-vblank-{n}"),
                &format!("WAIT_VBLANK relative {n}"),
                w,
            );
        }
        r.skip(
            "kms/vblank-period",
            format!("{C_NO_VBLANK}: no vblank timestamps"),
        );
    } else {
        r.check(
            "kms/wait-vblank-query",
            q.is_ok(),
            format!(
                "WAIT_VBLANK relative 0: {:?}",
                q.as_ref().map(|q| q.sequence).map_err(err_name)
            ),
        );
        let mut replies = Vec::new();
        let mut prev = q.as_ref().map(|q| q.sequence).ok();
        for n in [1u32, 3] {
            let name = format!("kms/wait-vblank-{n}");
            let start = Instant::now();
            let w = drm_ffi::wait_vblank(fd, rel, n, 0);
            let took = start.elapsed();
            let (Some(before), Some(w)) =
                (prev, r.ok(&name, &format!("WAIT_VBLANK relative {n}"), w))
            else {
                if prev.is_none() {
                    r.fail(
                        &name,
                        format!("WAIT_VBLANK query: {:?}", q.as_ref().map_err(err_name)),
                    );
                }
                prev = None;
                continue;
            };
            let advanced = w.sequence.wrapping_sub(before);
            // The wait ends at the n-th vblank from the call: after (n - 1) to n periods.
            let lo = period * (n - 1) / 2;
            let hi = period * n * 4 + Duration::from_millis(100);
            r.check(
                &name,
                advanced >= n && took >= lo && took <= hi,
                format!(
                    "sequence {before} -> {} (+{advanced}, want +{n} or more) in {:.1} ms \
                     ({n} frame periods of {:.2} ms: want {:.1}..{:.1} ms)",
                    w.sequence,
                    took.as_secs_f64() * 1e3,
                    period.as_secs_f64() * 1e3,
                    lo.as_secs_f64() * 1e3,
                    hi.as_secs_f64() * 1e3
                ),
            );
            prev = Some(w.sequence);
            replies.push((w.sequence, ts(w.tval_sec, w.tval_usec)));
        }
        if let [(s1, t1), (s3, t3)] = replies[..] {
            let frames = s3.wrapping_sub(s1);
            let measured = t3.saturating_sub(t1) / frames.max(1);
            r.check(
                "kms/vblank-period",
                frames > 0 && about(measured, period),
                format!(
                    "vblank timestamps: {frames} frames in {:.2} ms = {:.3} ms per frame ({:.1} Hz); \
                     mode {} wants {:.3} ms (allowed 0.5x..4x)",
                    t3.saturating_sub(t1).as_secs_f64() * 1e3,
                    measured.as_secs_f64() * 1e3,
                    1.0 / measured.as_secs_f64().max(1e-9),
                    mode_name(&p.mode),
                    period.as_secs_f64() * 1e3
                ),
            );
        } else {
            r.fail("kms/vblank-period", "no two WAIT_VBLANK replies to measure");
        }
    }

    // CRTC_GET_SEQUENCE before and after waiting for two vblanks.
    let g1 = crtc_get_sequence(fd, p.crtc);
    if c {
        c_no_vblank(r, "kms/crtc-get-sequence", "CRTC_GET_SEQUENCE", g1);
    } else if let Some(g1) = r.ok("kms/crtc-get-sequence", "CRTC_GET_SEQUENCE", g1) {
        let w = drm_ffi::wait_vblank(fd, rel, 2, 0);
        let g2 = crtc_get_sequence(fd, p.crtc);
        match (w, g2) {
            (Ok(_), Ok(g2)) => r.check(
                "kms/crtc-get-sequence",
                g1.active == 1
                    && g2.active == 1
                    && g2.sequence >= g1.sequence + 2
                    && g2.sequence_ns > g1.sequence_ns,
                format!(
                    "active {} sequence {} at {} ns, two vblanks later active {} sequence {} at {} ns \
                     (+{:.2} ms)",
                    g1.active,
                    g1.sequence,
                    g1.sequence_ns,
                    g2.active,
                    g2.sequence,
                    g2.sequence_ns,
                    (g2.sequence_ns - g1.sequence_ns) as f64 / 1e6
                ),
            ),
            (w, g2) => r.fail(
                "kms/crtc-get-sequence",
                format!(
                    "WAIT_VBLANK relative 2: {:?}; CRTC_GET_SEQUENCE: {:?}",
                    w.map(|_| ()).map_err(|e| err_name(&e)),
                    g2.map(|_| ()).map_err(|e| err_name(&e))
                ),
            ),
        }
    }

    // Page flips with events: each event carries the vblank it completed at.
    let mut events = Vec::new();
    for i in 0..4 {
        let fb = if i % 2 == 0 { fb2.fb } else { fb1.fb };
        if let Err(e) = mode::page_flip(fd, p.crtc, fb, DRM_MODE_PAGE_FLIP_EVENT, 0) {
            r.fail(
                "kms/flip-sequence",
                format!("PAGE_FLIP {i}: {}", err_name(&e)),
            );
            return;
        }
        match read_event(fd, file) {
            Ok((ev, _)) => {
                events.push((ev.sequence, ts(i64::from(ev.tv_sec), i64::from(ev.tv_usec))))
            }
            Err(e) => {
                r.fail("kms/flip-sequence", format!("flip {i}: {e}"));
                return;
            }
        }
    }
    let seqs: Vec<u32> = events.iter().map(|e| e.0).collect();
    let times: Vec<String> = events
        .iter()
        .map(|e| format!("{:.3}", e.1.as_secs_f64()))
        .collect();
    let seq_up = seqs.windows(2).all(|w| w[1] > w[0]);
    let ts_up = events.windows(2).all(|w| w[1].1 > w[0].1);
    let detail = format!("4 flips: sequences {seqs:?}, timestamps {times:?} s");
    if c {
        // Fake vblank events carry the time they were sent: never decreasing.
        let ts_monotone = events.windows(2).all(|w| w[1].1 >= w[0].1);
        if seqs.iter().all(|&s| s == 0) && ts_monotone {
            r.skip(
                "kms/flip-sequence",
                format!("{C_NO_VBLANK}: fake vblank events, sequence 0, timestamps at sending; {detail}"),
            );
        } else {
            r.fail(
                "kms/flip-sequence",
                format!("C driver: want sequence 0 in every event; {detail}"),
            );
        }
        return;
    }
    let (first, last) = (events[0], events[events.len() - 1]);
    let frames = last.0.wrapping_sub(first.0);
    let measured = last.1.saturating_sub(first.1) / frames.max(1);
    r.check(
        "kms/flip-sequence",
        seq_up && ts_up && frames > 0 && about(measured, period),
        format!(
            "{detail}; {:.3} ms per frame between the events (mode: {:.3} ms)",
            measured.as_secs_f64() * 1e3,
            period.as_secs_f64() * 1e3
        ),
    );
}

/// A framebuffer larger than its buffer object: the core's GEM framebuffer helper refuses it
/// (EINVAL); the C driver does not check and accepts it (igt kms_addfb_basic bo-too-small).
fn check_bo_too_small(r: &mut Report, fd: BorrowedFd<'_>, label: &str) {
    let Ok(d) = dumbbuffer::create(fd, 64, 64, 32, 0) else {
        r.fail("kms/addfb-bo-too-small", "CREATE_DUMB 64x64 failed");
        return;
    };
    let res = mode::add_fb2(
        fd,
        64,
        4096,
        XRGB8888,
        &[d.handle, 0, 0, 0],
        &[d.pitch, 0, 0, 0],
        &[0; 4],
        &[0; 4],
        0,
    );
    match &res {
        Err(e) if Errno::from_io_error(e) == Some(Errno::INVAL) => r.pass(
            "kms/addfb-bo-too-small",
            "ADDFB2 64x4096 on a 64x64 buffer -> EINVAL",
        ),
        Ok(fb) if label == "c" => {
            let _ = mode::rm_fb(fd, fb.fb_id);
            r.skip(
                "kms/addfb-bo-too-small",
                "the C driver accepts a framebuffer larger than its buffer (its known igt failure)",
            )
        }
        other => r.fail(
            "kms/addfb-bo-too-small",
            format!(
                "ADDFB2 64x4096 on a 64x64 buffer -> {:?}, want EINVAL",
                other.as_ref().map(|f| f.fb_id).map_err(err_name)
            ),
        ),
    }
    if let Ok(fb) = res {
        let _ = mode::rm_fb(fd, fb.fb_id);
    }
    let _ = dumbbuffer::destroy(fd, d.handle);
}

/// A framebuffer whose rows, as the host reads them, run past its buffer: a dumb buffer one
/// pixel wider than the mode, and a mode-sized framebuffer on it with the pitch of its own
/// width, at the largest offset that DRM's size check allows. The host reads a 2D resource's
/// rows at the resource's stride (one pixel more), so the upload of the last row would end
/// `4 * (h - 1)` bytes past the buffer. Ours refuses the commit (TEST_ONLY, EINVAL); the C
/// driver accepts it (it does not compare the two strides; its upload leaves out the
/// framebuffer's offset, so QEMU reads inside the buffer, a sheared picture).
fn check_rows_past_buffer(r: &mut Report, fd: BorrowedFd<'_>, p: &Pipe, label: &str) {
    const NAME: &str = "kms/atomic-rows-past-buffer";
    let (w, h) = (u32::from(p.mode.hdisplay), u32::from(p.mode.vdisplay));
    let fb_prop = props(fd, p.primary, DRM_MODE_OBJECT_PLANE)
        .ok()
        .and_then(|pp| prop_id(&pp, "FB_ID"));
    let Some(fb_prop) = fb_prop else {
        return r.fail(NAME, "no FB_ID property on the primary plane");
    };
    let Ok(d) = dumbbuffer::create(fd, w + 1, h, 32, 0) else {
        return r.fail(NAME, format!("CREATE_DUMB {}x{h} failed", w + 1));
    };
    let offset = d.size - u64::from(w) * 4 * u64::from(h);
    let fb = mode::add_fb2(
        fd,
        w,
        h,
        XRGB8888,
        &[d.handle, 0, 0, 0],
        &[w * 4, 0, 0, 0],
        &[offset as u32, 0, 0, 0],
        &[0; 4],
        0,
    );
    match fb {
        Err(e) => r.fail(
            NAME,
            format!(
                "ADDFB2 {w}x{h} pitch {} at {offset} on a {} byte buffer: {}",
                w * 4,
                d.size,
                err_name(&e)
            ),
        ),
        Ok(fb) => {
            let t = atomic(
                fd,
                DRM_MODE_ATOMIC_TEST_ONLY,
                &[(p.primary, fb_prop, u64::from(fb.fb_id))],
            );
            let what = format!(
                "TEST_ONLY commit of a {w}x{h} framebuffer, pitch {}, at byte {offset} of a {}x{h} \
                 dumb buffer ({} bytes, pitch {})",
                w * 4,
                w + 1,
                d.size,
                d.pitch
            );
            match t {
                Err(e) if Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                    r.pass(NAME, format!("{what} -> EINVAL"))
                }
                Ok(()) if label == "c" => r.skip(
                    NAME,
                    format!("{what} -> ok: the C driver accepts it (a sheared picture)"),
                ),
                other => r.fail(
                    NAME,
                    format!(
                        "{what} -> {:?}, want EINVAL",
                        other.map_err(|e| err_name(&e))
                    ),
                ),
            }
            let _ = mode::rm_fb(fd, fb.fb_id);
        }
    }
    let _ = dumbbuffer::destroy(fd, d.handle);
}

fn check_atomic(r: &mut Report, fd: BorrowedFd<'_>, file: &File, p: &Pipe, fb1: &Fb, fb2: &Fb) {
    let pp = match props(fd, p.primary, DRM_MODE_OBJECT_PLANE) {
        Ok(v) => v,
        Err(e) => {
            return r.fail(
                "kms/atomic-props",
                format!("plane properties: {}", err_name(&e)),
            )
        }
    };
    let cp = props(fd, p.crtc, DRM_MODE_OBJECT_CRTC).unwrap_or_default();
    let np = props(fd, p.conn, DRM_MODE_OBJECT_CONNECTOR).unwrap_or_default();
    let need = [
        "FB_ID", "CRTC_ID", "SRC_X", "SRC_Y", "SRC_W", "SRC_H", "CRTC_X", "CRTC_Y", "CRTC_W",
        "CRTC_H",
    ];
    let missing: Vec<_> = need.iter().filter(|n| prop_id(&pp, n).is_none()).collect();
    let (Some(fb_id), Some(src_w), Some(active), Some(conn_crtc)) = (
        prop_id(&pp, "FB_ID"),
        prop_id(&pp, "SRC_W"),
        prop_id(&cp, "ACTIVE"),
        prop_id(&np, "CRTC_ID"),
    ) else {
        return r.fail(
            "kms/atomic-props",
            format!("missing plane properties {missing:?} or CRTC ACTIVE / connector CRTC_ID"),
        );
    };
    r.check(
        "kms/atomic-props",
        missing.is_empty() && prop_id(&pp, "FB_DAMAGE_CLIPS").is_some(),
        format!(
            "plane {} properties, CRTC {}, connector {}; FB_DAMAGE_CLIPS {}",
            pp.len(),
            cp.len(),
            np.len(),
            if prop_id(&pp, "FB_DAMAGE_CLIPS").is_some() {
                "present"
            } else {
                "missing"
            }
        ),
    );
    let before = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id).unwrap_or(0);
    let other = if before == fb1.fb { fb2.fb } else { fb1.fb };
    let t = atomic(
        fd,
        DRM_MODE_ATOMIC_TEST_ONLY,
        &[(p.primary, fb_id, u64::from(other))],
    );
    let after = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id).unwrap_or(0);
    match t {
        Ok(()) => r.check(
            "kms/atomic-test-only",
            after == before,
            format!("TEST_ONLY flip to fb {other} accepted; CRTC still scans out fb {after} (was {before})"),
        ),
        Err(e) => r.fail("kms/atomic-test-only", format!("TEST_ONLY flip: {}", err_name(&e))),
    }
    // A source rectangle wider than the framebuffer: the core refuses it with ENOSPC.
    let too_wide = (u64::from(p.mode.hdisplay) + 1) << 16;
    let t = atomic(
        fd,
        DRM_MODE_ATOMIC_TEST_ONLY,
        &[(p.primary, src_w, too_wide)],
    );
    let after = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id).unwrap_or(0);
    r.check(
        "kms/atomic-test-only-bad",
        errno_of(&t) == Some(Errno::NOSPC) && after == before,
        format!(
            "TEST_ONLY with SRC_W past the framebuffer -> {:?} (want ENOSPC); CRTC fb {after}",
            t.map_err(|e| err_name(&e))
        ),
    );
    // Turning the CRTC off while its connector stays on is invalid (EINVAL), also TEST_ONLY.
    let t = atomic(
        fd,
        DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET,
        &[(p.crtc, active, 0), (p.conn, conn_crtc, u64::from(p.crtc))],
    );
    r.check(
        "kms/atomic-test-only-modeset",
        t.is_ok() || errno_of(&t) == Some(Errno::INVAL),
        format!(
            "TEST_ONLY ACTIVE=0 with the connector kept: {:?}",
            t.map_err(|e| err_name(&e))
        ),
    );
    // A real atomic flip with an event.
    let t = atomic(
        fd,
        DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
        &[(p.primary, fb_id, u64::from(other))],
    );
    if r.ok("kms/atomic-flip-event", "ATOMIC flip", t).is_some() {
        match read_event(fd, file) {
            Ok((ev, t)) => r.check(
                "kms/atomic-flip-event",
                ev.base.type_ == DRM_EVENT_FLIP_COMPLETE && ev.crtc_id == p.crtc,
                format!(
                    "event type {} crtc {} (want {}) after {} ms",
                    ev.base.type_,
                    ev.crtc_id,
                    p.crtc,
                    t.as_millis()
                ),
            ),
            Err(e) => r.fail("kms/atomic-flip-event", e),
        }
        let now = mode::get_crtc(fd, p.crtc).map(|c| c.fb_id);
        r.check(
            "kms/atomic-flip-fb",
            now.as_ref().ok() == Some(&other),
            format!(
                "GETCRTC after the atomic flip: fb {:?} (want {other})",
                now.map_err(|e| err_name(&e))
            ),
        );
    }
}

/// The legacy cursor ioctls: set, move, change, move, hide. What the device receives is
/// checked on the host from QEMU's cursor trace events by the guest scenario.
#[allow(deprecated)]
fn check_cursor(r: &mut Report, fd: BorrowedFd<'_>, p: &Pipe) {
    let mk = |seed: u32| -> io::Result<(u32, u32)> {
        let d = dumbbuffer::create(fd, 64, 64, 32, 0)?;
        let off = dumbbuffer::map(fd, d.handle, 0, 0)?.offset;
        let mut m = Mapping::new(fd, off, d.size as usize)?;
        for (i, px) in m.bytes().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&(0xff00_0000 | seed.wrapping_mul(i as u32 + 1)).to_le_bytes());
        }
        Ok((d.handle, d.pitch))
    };
    let (Ok((a, _)), Ok((b, _))) = (mk(0x10_2030), mk(0x30_2010)) else {
        return r.fail(
            "kms/cursor",
            "CREATE_DUMB/MAP of 64x64 cursor buffers failed",
        );
    };
    let steps: [(&str, io::Result<()>); 5] = [
        (
            "set 64x64",
            mode::set_cursor(fd, p.crtc, a, 64, 64).map(|_| ()),
        ),
        (
            "move to 100,50",
            mode::move_cursor(fd, p.crtc, 100, 50).map(|_| ()),
        ),
        (
            "change image",
            mode::set_cursor(fd, p.crtc, b, 64, 64).map(|_| ()),
        ),
        (
            "move to 300,200",
            mode::move_cursor(fd, p.crtc, 300, 200).map(|_| ()),
        ),
        ("hide", mode::set_cursor(fd, p.crtc, 0, 0, 0).map(|_| ())),
    ];
    let mut done = Vec::new();
    let mut bad = None;
    for (what, res) in steps {
        match res {
            Ok(()) => done.push(what),
            Err(e) => {
                bad = Some(format!("{what}: {}", err_name(&e)));
                break;
            }
        }
    }
    match bad {
        None => r.pass(
            "kms/cursor",
            format!("legacy cursor ioctls: {}", done.join(", ")),
        ),
        Some(b) => r.fail("kms/cursor", b),
    }
    let _ = dumbbuffer::destroy(fd, a);
    let _ = dumbbuffer::destroy(fd, b);
}

/// `--show`: the test picture on every connected connector (bars rotated by the connector's
/// index, so each head shows its own picture) until stdin closes.
fn show(args: &Args) -> Result<(), String> {
    let file = open_rw(&args.device).map_err(|e| format!("{}: {e}", args.device))?;
    let fd = file.as_fd();
    drm_ffi::set_capability(fd, u64::from(DRM_CLIENT_CAP_UNIVERSAL_PLANES), true)
        .map_err(|e| format!("SET_CLIENT_CAP: {e}"))?;
    let mut conns = Vec::new();
    mode::get_resources(fd, None, None, Some(&mut conns), None)
        .map_err(|e| format!("GETRESOURCES: {e}"))?;
    let mut fbs = Vec::new();
    for (i, &c) in conns.iter().enumerate() {
        let Ok(p) = find_pipe(fd, Some(c)) else {
            continue;
        };
        let (w, h) = (u32::from(p.mode.hdisplay), u32::from(p.mode.vdisplay));
        let fb = Fb::new(fd, w, h, XRGB8888, |x| BARS[(bar_index(x, w) + i) % 4])
            .map_err(|e| format!("framebuffer: {e}"))?;
        mode::set_crtc(fd, p.crtc, fb.fb, 0, 0, &[p.conn], Some(p.mode))
            .map_err(|e| format!("SETCRTC connector {c}: {e}"))?;
        eprintln!("SHOWING connector {c} (index {i}) crtc {} {w}x{h}", p.crtc);
        fbs.push(fb);
    }
    if fbs.is_empty() {
        return Err(format!("no connected connector among {conns:?}"));
    }
    eprintln!("SHOWING {} heads", fbs.len());
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    Ok(())
}

/// Runs `f` repeatedly for `secs` seconds; returns (iterations, seconds taken).
fn timed(secs: f64, mut f: impl FnMut() -> Result<(), String>) -> Result<(u64, f64), String> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        f()?;
        n += 1;
    }
    Ok((n, start.elapsed().as_secs_f64()))
}

/// One dumb buffer cycle of the bench: create, map and destroy a `w` x `h` XRGB8888 buffer;
/// the seconds each of the three ioctls took are added to `phase`.
fn dumb_cycle(fd: BorrowedFd<'_>, w: u32, h: u32, phase: &mut [f64; 3]) -> Result<(), String> {
    let t0 = Instant::now();
    let d = dumbbuffer::create(fd, w, h, 32, 0).map_err(|e| format!("CREATE_DUMB: {e}"))?;
    let t1 = Instant::now();
    let m = dumbbuffer::map(fd, d.handle, 0, 0).map_err(|e| format!("MAP_DUMB: {e}"));
    let t2 = Instant::now();
    dumbbuffer::destroy(fd, d.handle).map_err(|e| format!("DESTROY_DUMB: {e}"))?;
    phase[0] += (t1 - t0).as_secs_f64();
    phase[1] += (t2 - t1).as_secs_f64();
    phase[2] += t2.elapsed().as_secs_f64();
    m.map(|_| ())
}

/// `--dumb-loop N`: `n` cycles of [`dumb_cycle`] at 1280x800 (the bench's mode) or
/// `--dumb-size`, what a profile of one cycle is taken over; prints the mean time of each
/// ioctl (with `--dumb-gap MS`, cycles MS milliseconds apart: the previous buffer's pages
/// freed before the next create; with `--dumb-alt PATH`, every other cycle on PATH, each
/// device's means printed). With `--dumb-hold`, all `n` buffers are created first and then
/// destroyed: their host resources' unrefs are all in flight at once (the probe scenario
/// unloads the driver right after).
fn dumb_loop(args: &Args, n: u64) -> Result<(), String> {
    let file = open_rw(&args.device).map_err(|e| format!("{}: {e}", args.device))?;
    let mut phase = [0f64; 3];
    let (w, h) = args.dumb_size;
    if args.dumb_hold {
        let fd = file.as_fd();
        let t0 = Instant::now();
        let mut held = Vec::new();
        for _ in 0..n {
            held.push(
                dumbbuffer::create(fd, w, h, 32, 0).map_err(|e| format!("CREATE_DUMB: {e}"))?,
            );
        }
        let t1 = Instant::now();
        for d in held {
            dumbbuffer::destroy(fd, d.handle).map_err(|e| format!("DESTROY_DUMB: {e}"))?;
        }
        println!(
            "{n} dumb buffers ({w}x{h}) created, then destroyed: {:.3} ms a create",
            (t1 - t0).as_secs_f64() * 1e3 / n as f64
        );
        return Ok(());
    }
    let ms = |s: f64| s * 1e3 / n.max(1) as f64;
    let line = |dev: &str, p: &[f64; 3]| {
        format!(
            "{dev}: {n} dumb buffer cycles ({w}x{h}, {} ms apart): create {:.3} ms, map {:.3} ms, \
             destroy {:.3} ms a buffer",
            args.dumb_gap,
            ms(p[0]),
            ms(p[1]),
            ms(p[2])
        )
    };
    let alt = match &args.dumb_alt {
        Some(path) => Some((path, open_rw(path).map_err(|e| format!("{path}: {e}"))?)),
        None => None,
    };
    let mut alt_phase = [0f64; 3];
    for _ in 0..n {
        dumb_cycle(file.as_fd(), w, h, &mut phase)?;
        if let Some((_, f)) = &alt {
            dumb_cycle(f.as_fd(), w, h, &mut alt_phase)?;
        }
        if args.dumb_gap > 0 {
            std::thread::sleep(Duration::from_millis(args.dumb_gap));
        }
    }
    println!("{}", line(&args.device, &phase));
    if let Some((path, _)) = &alt {
        println!("{}", line(path, &alt_phase));
    }
    Ok(())
}

/// `--bench SECS`: flips, cursor moves, TEST_ONLY commits, GETPARAM, full-screen uploads and
/// dumb buffer cycles per second, and kernel memory per object.
#[allow(deprecated)] // drm-ffi deprecates the legacy cursor ioctls, which are measured here.
fn bench(args: &Args, secs: f64) -> Result<(), String> {
    let file = open_rw(&args.device).map_err(|e| format!("{}: {e}", args.device))?;
    let fd = file.as_fd();
    drm_ffi::set_capability(fd, u64::from(DRM_CLIENT_CAP_UNIVERSAL_PLANES), true)
        .map_err(|e| format!("SET_CLIENT_CAP: {e}"))?;
    drm_ffi::set_capability(fd, u64::from(DRM_CLIENT_CAP_ATOMIC), true)
        .map_err(|e| format!("SET_CLIENT_CAP ATOMIC: {e}"))?;
    let p = find_pipe(fd, None)?;
    let (w, h) = (u32::from(p.mode.hdisplay), u32::from(p.mode.vdisplay));
    let fbs = [
        Fb::new(fd, w, h, XRGB8888, |x| bar(x, w)).map_err(|e| format!("framebuffer: {e}"))?,
        Fb::new(fd, w, h, XRGB8888, |x| bar(w - 1 - x, w))
            .map_err(|e| format!("framebuffer: {e}"))?,
    ];
    mode::set_crtc(fd, p.crtc, fbs[0].fb, 0, 0, &[p.conn], Some(p.mode))
        .map_err(|e| format!("SETCRTC: {e}"))?;
    let pp = props(fd, p.primary, DRM_MODE_OBJECT_PLANE).map_err(|e| format!("props: {e}"))?;
    let fb_prop = prop_id(&pp, "FB_ID").ok_or("no FB_ID property")?;
    // Flips that need not wait for a vblank show what a flip costs the driver: asynchronous
    // ones where the driver offers them (ours; DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP), else plain
    // ones (the C driver, whose fake vblank does not wait). Then flips that wait for the
    // vblank, which a driver with a vblank paces at the refresh rate.
    let async_cap = drm_ffi::get_capability(fd, u64::from(DRM_CAP_ATOMIC_ASYNC_PAGE_FLIP))
        .map(|c| c.value == 1)
        .unwrap_or(false);
    let mut i = 0usize;
    for (name, flags, what) in [
        (
            "flips",
            if async_cap {
                DRM_MODE_PAGE_FLIP_ASYNC
            } else {
                0
            },
            if async_cap {
                "asynchronous (DRM_MODE_PAGE_FLIP_ASYNC)"
            } else {
                "no async flips: plain"
            },
        ),
        ("vsync", 0, "vblank-synchronised"),
    ] {
        let (n, t) = timed(secs, || {
            i ^= 1;
            let flags = flags | DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
            atomic(fd, flags, &[(p.primary, fb_prop, u64::from(fbs[i].fb))])
                .map_err(|e| format!("atomic flip: {e}"))?;
            read_event(fd, &file).map(|_| ())
        })?;
        println!(
            "BENCH {name} {:.1} flips/s ({n} {what} atomic flips with events of {w}x{h} at {} in {t:.2} s)",
            n as f64 / t,
            mode_name(&p.mode)
        );
    }
    // Legacy cursor moves, as a desktop sends them on mouse motion (the host draws the
    // cursor: each move is one cursor-queue command).
    let cursor =
        dumbbuffer::create(fd, 64, 64, 32, 0).map_err(|e| format!("cursor buffer: {e}"))?;
    mode::set_cursor(fd, p.crtc, cursor.handle, 64, 64).map_err(|e| format!("SET_CURSOR: {e}"))?;
    let mut k = 0i32;
    let (n, t) = timed(secs, || {
        k = (k + 7) % 512;
        mode::move_cursor(fd, p.crtc, k, k / 2)
            .map(|_| ())
            .map_err(|e| format!("MOVE_CURSOR: {e}"))
    })?;
    println!(
        "BENCH cursor {:.1} moves/s ({n} legacy cursor moves in {t:.2} s)",
        n as f64 / t
    );
    let _ = mode::set_cursor(fd, p.crtc, 0, 0, 0);
    let _ = dumbbuffer::destroy(fd, cursor.handle);
    // TEST_ONLY commits: the driver's atomic checks alone (a compositor probing a plane
    // configuration).
    let (n, t) = timed(secs, || {
        i ^= 1;
        atomic(
            fd,
            DRM_MODE_ATOMIC_TEST_ONLY,
            &[(p.primary, fb_prop, u64::from(fbs[i].fb))],
        )
        .map_err(|e| format!("TEST_ONLY commit: {e}"))
    })?;
    println!(
        "BENCH test-only {:.1} commits/s ({n} TEST_ONLY flips in {t:.2} s)",
        n as f64 / t
    );
    // VIRTGPU_GETPARAM: the cost of a driver ioctl round trip (no device command).
    let (n, t) = timed(secs, || {
        virtgpu::getparam(fd, 1)
            .map(|_| ())
            .map_err(|e| format!("GETPARAM: {e}"))
    })?;
    println!(
        "BENCH getparam {:.1} ioctls/s ({n} GETPARAM 3D_FEATURES in {t:.2} s)",
        n as f64 / t
    );
    let whole = [drm_clip_rect {
        x1: 0,
        y1: 0,
        x2: w as u16,
        y2: h as u16,
    }];
    let cur = fbs[i].fb;
    let (n, t) = timed(secs, || {
        mode::dirty_fb(fd, cur, &whole)
            .map(|_| ())
            .map_err(|e| format!("DIRTYFB: {e}"))
    })?;
    println!(
        "BENCH dirtyfb {:.1} uploads/s ({:.1} MB/s of {w}x{h} XRGB8888; {n} in {t:.2} s)",
        n as f64 / t,
        n as f64 * f64::from(w) * f64::from(h) * 4.0 / t / 1e6
    );
    // Time spent in each of the three ioctls, to show where a difference lies.
    let mut phase = [0f64; 3];
    let (n, t) = timed(secs, || dumb_cycle(fd, w, h, &mut phase))?;
    let per = |s: f64| s / n.max(1) as f64 * 1e3;
    println!(
        "BENCH dumb {:.1} buffers/s (create + map + destroy {w}x{h}; {n} in {t:.2} s; \
         per buffer: create {:.2} ms, map {:.3} ms, destroy {:.2} ms)",
        n as f64 / t,
        per(phase[0]),
        per(phase[1]),
        per(phase[2])
    );
    // Kernel memory per buffer object: slab growth while 1000 small dumb buffers are alive.
    let slab = || meminfo::kb("Slab").map_err(|e| format!("meminfo: {e}"));
    let before = slab()?;
    let mut handles = Vec::new();
    for _ in 0..1000 {
        let d = dumbbuffer::create(fd, 64, 64, 32, 0).map_err(|e| format!("CREATE_DUMB: {e}"))?;
        handles.push(d.handle);
    }
    let after = slab()?;
    for h in handles {
        let _ = dumbbuffer::destroy(fd, h);
    }
    println!(
        "BENCH objmem {} bytes/object (slab growth with 1000 live 64x64 dumb buffers: {} kB)",
        after.saturating_sub(before) * 1024 / 1000,
        after.saturating_sub(before)
    );
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(n) = args.dumb_loop {
        if let Err(e) = dumb_loop(&args, n) {
            eprintln!("vgrs-kms-test --dumb-loop: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(secs) = args.bench {
        if let Err(e) = bench(&args, secs) {
            eprintln!("vgrs-kms-test --bench: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.show {
        if let Err(e) = show(&args) {
            eprintln!("vgrs-kms-test --show: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut r = Report::default();
    eprintln!("vgrs-kms-test: label {} device {}", args.label, args.device);
    match open_rw(&args.device) {
        Ok(f) => run(&mut r, &f, &args.label),
        Err(e) => r.fail("open", format!("{}: {}", args.device, err_name(&e))),
    }
    println!(
        "{} passed, {} failed, {} skipped",
        r.passed, r.failed, r.skipped
    );
    std::process::exit(if r.failed == 0 { 0 } else { 1 });
}
