// SPDX-License-Identifier: GPL-2.0
//! `kms/crc*`: the CRC source (debugfs `dri/0/crtc-N/crc`), checked the way igt uses it: a
//! CRC per frame with consecutive frame numbers; equal pictures give equal CRCs, different
//! ones different CRCs; a cursor over a picture gives the CRC of a picture that has the
//! cursor's pixels drawn into it (igt kms_cursor_crc's reference), for an opaque and for a
//! half-transparent cursor (blended as cairo does).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::BorrowedFd;
use std::path::Path;

use drm_ffi::mode::{self, dumbbuffer};
use rustix::event::{poll, PollFd, PollFlags};
use vgrs_guest::mapping::Mapping;
use vgrs_guest::report::{err_name, Report};

use crate::{bar, Fb, Pipe, XRGB8888};

/// Where the cursor goes in the checks.
const CUR_X: u32 = 100;
const CUR_Y: u32 = 50;
const CUR: u32 = 64;

/// Entries the CRC data file buffers (DRM keeps 128).
const BUFFERED: usize = 128;

/// One CRC entry: (frame, CRC).
type Entry = (u32, u32);

/// The CRC data file of a CRTC, opened after "auto" was written to its control file (the
/// open turns the source on; the close turns it off).
struct CrcReader {
    data: File,
}

impl CrcReader {
    fn open(dir: &Path) -> Result<Self, String> {
        OpenOptions::new()
            .write(true)
            .open(dir.join("control"))
            .and_then(|mut c| c.write_all(b"auto"))
            .map_err(|e| format!("control: {}", err_name(&e)))?;
        let data = File::open(dir.join("data")).map_err(|e| format!("data: {}", err_name(&e)))?;
        Ok(Self { data })
    }

    /// The next entry, waiting at most 2 s.
    fn next(&mut self) -> Result<Entry, String> {
        let mut pfd = [PollFd::new(&self.data, PollFlags::IN)];
        let ts = rustix::event::Timespec {
            tv_sec: 2,
            tv_nsec: 0,
        };
        match poll(&mut pfd, Some(&ts)) {
            Ok(0) => return Err("no CRC entry within 2 s".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("poll: {e}")),
        }
        let mut buf = [0u8; 64];
        let n = self
            .data
            .read(&mut buf)
            .map_err(|e| format!("read: {}", err_name(&e)))?;
        let line = String::from_utf8_lossy(&buf[..n]);
        let mut words = line
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .split_whitespace();
        let hex = |w: Option<&str>| {
            w.and_then(|w| u32::from_str_radix(w.trim_start_matches("0x"), 16).ok())
        };
        match (hex(words.next()), hex(words.next())) {
            (Some(f), Some(c)) => Ok((f, c)),
            _ => Err(format!("bad CRC line {line:?}")),
        }
    }

    /// `n` entries in a row.
    fn take(&mut self, n: usize) -> Result<Vec<Entry>, String> {
        (0..n).map(|_| self.next()).collect()
    }

    /// The CRC of what is shown now, after a change that has taken effect (a commit that
    /// returned, which waited for its vblank, or a cursor update, which the next vblank
    /// shows): the entries buffered so far are dropped (they may be of frames before the
    /// change), then one more frame is skipped and three in a row must agree.
    fn current(&mut self) -> Result<u32, String> {
        let mut dropped = 0;
        loop {
            let mut pfd = [PollFd::new(&self.data, PollFlags::IN)];
            let zero = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            match poll(&mut pfd, Some(&zero)) {
                Ok(0) => break,
                Ok(_) => {
                    self.next()?;
                    dropped += 1;
                    if dropped > 2 * BUFFERED {
                        return Err("the CRC entries never ran out".into());
                    }
                }
                Err(e) => return Err(format!("poll: {e}")),
            }
        }
        self.next()?;
        let e = self.take(3)?;
        if e.iter().all(|x| x.1 == e[0].1) {
            Ok(e[0].1)
        } else {
            Err(format!("three frames after the change disagree: {e:08x?}"))
        }
    }
}

/// Fills a 64x64 cursor buffer with `pixel(x, y)` (ARGB8888); returns its handle.
fn cursor_bo(fd: BorrowedFd<'_>, pixel: impl Fn(u32, u32) -> u32) -> std::io::Result<u32> {
    let d = dumbbuffer::create(fd, CUR, CUR, 32, 0)?;
    let off = dumbbuffer::map(fd, d.handle, 0, 0)?.offset;
    let mut m = Mapping::new(fd, off, d.size as usize)?;
    let bytes = m.bytes();
    for y in 0..CUR {
        for x in 0..CUR {
            let o = (y * d.pitch + x * 4) as usize;
            bytes[o..o + 4].copy_from_slice(&pixel(x, y).to_le_bytes());
        }
    }
    Ok(d.handle)
}

/// Premultiplied `src` over opaque `dst`, per channel `s + d * (255 - a) / 255` rounded as
/// pixman (cairo) does: what igt's reference picture holds.
fn over(src: u32, dst: u32) -> u32 {
    let ia = 255 - (src >> 24);
    let mul = |a: u32, b: u32| {
        let t = a * b + 0x80;
        ((t >> 8) + t) >> 8
    };
    let mut out = 0xff00_0000;
    for shift in [0, 8, 16] {
        let (s, d) = ((src >> shift) & 0xff, (dst >> shift) & 0xff);
        out |= (s + mul(d, ia)).min(255) << shift;
    }
    out
}

/// The cursor images of the checks: an opaque pattern, and a half-transparent one
/// (premultiplied: no channel above the alpha).
fn opaque(x: u32, y: u32) -> u32 {
    0xff00_0000 | (x * 4) << 16 | (y * 4) << 8 | ((x ^ y) * 4)
}
fn half(x: u32, y: u32) -> u32 {
    0x8000_0000 | (x * 2) << 16 | (y * 2) << 8 | 0x40
}

#[allow(deprecated)] // drm-ffi deprecates the legacy cursor ioctls, which igt's cursor tests use.
pub(crate) fn check_crc(r: &mut Report, fd: BorrowedFd<'_>, p: &Pipe, label: &str) {
    let name = "kms/crc";
    let Some(index) = p.crtcs.iter().position(|&c| c == p.crtc) else {
        return r.fail(name, "the pipe's CRTC is not in the CRTC list");
    };
    let dir = Path::new("/sys/kernel/debug/dri/0").join(format!("crtc-{index}/crc"));
    if !dir.exists() {
        if label == "c" {
            return r.skip(
                name,
                format!("no {}: the C driver has no CRC source", dir.display()),
            );
        }
        return r.fail(name, format!("no {}", dir.display()));
    }
    let (w, h) = (u32::from(p.mode.hdisplay), u32::from(p.mode.vdisplay));
    let a = Fb::new(fd, w, h, XRGB8888, |x| bar(x, w));
    let b = Fb::new(fd, w, h, XRGB8888, |x| bar(w - 1 - x, w));
    let (Ok(a), Ok(b)) = (a, b) else {
        return r.fail(name, "two framebuffers could not be made");
    };
    let show = |fb: u32| mode::set_crtc(fd, p.crtc, fb, 0, 0, &[p.conn], Some(p.mode));
    if let Err(e) = show(a.fb) {
        return r.fail(name, format!("SETCRTC: {}", err_name(&e)));
    }
    let mut crc = match CrcReader::open(&dir) {
        Ok(c) => c,
        Err(e) => return r.fail(name, e),
    };
    // A CRC per frame, frames in a row, the same CRC for the same picture.
    let crc_a = match crc.take(5) {
        Ok(e) => {
            let steady = e
                .windows(2)
                .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1);
            r.check(
                "kms/crc-frames",
                steady,
                format!(
                    "five entries, frames {:?}, CRCs {:08x?} (want consecutive frames, one CRC)",
                    e.iter().map(|e| e.0).collect::<Vec<_>>(),
                    e.iter().map(|e| e.1).collect::<Vec<_>>()
                ),
            );
            e[e.len() - 1].1
        }
        Err(e) => return r.fail("kms/crc-frames", e),
    };
    // Another picture, another CRC; back, the first CRC again.
    let step = |crc: &mut CrcReader, fb: u32| -> Result<u32, String> {
        show(fb).map_err(|e| format!("SETCRTC: {}", err_name(&e)))?;
        crc.current()
    };
    let crc_b = step(&mut crc, b.fb);
    let back = step(&mut crc, a.fb);
    match (&crc_b, &back) {
        (Ok(cb), Ok(ca)) => r.check(
            "kms/crc-pictures",
            *cb != crc_a && *ca == crc_a,
            format!(
                "bars {crc_a:08x}, bars mirrored {cb:08x} (want another), bars again {ca:08x} (want the first)"
            ),
        ),
        _ => r.fail(
            "kms/crc-pictures",
            format!("mirrored: {crc_b:?}; back: {back:?}"),
        ),
    }
    // A cursor over the bars against the bars with the cursor drawn in (igt's reference).
    for (tag, pixel) in [("opaque", opaque as fn(u32, u32) -> u32), ("half", half)] {
        let check = format!("kms/crc-cursor-{tag}");
        let reference = Fb::new(fd, w, h, XRGB8888, |x| bar(x, w));
        let (Ok(reference), Ok(bo)) = (reference, cursor_bo(fd, pixel)) else {
            r.fail(&check, "buffers could not be made");
            continue;
        };
        if let Err(e) = draw_into(fd, &reference, w, h, &pixel) {
            r.fail(&check, format!("drawing the reference: {}", err_name(&e)));
            continue;
        }
        let with_cursor = mode::set_cursor(fd, p.crtc, bo, CUR, CUR)
            .and_then(|_| mode::move_cursor(fd, p.crtc, CUR_X as i32, CUR_Y as i32))
            .map_err(|e| format!("cursor: {}", err_name(&e)))
            .and_then(|_| crc.current());
        let hidden =
            mode::set_cursor(fd, p.crtc, 0, 0, 0).map_err(|e| format!("hide: {}", err_name(&e)));
        let refcrc = hidden.and_then(|_| step(&mut crc, reference.fb));
        match (&with_cursor, &refcrc) {
            (Ok(c1), Ok(c2)) => r.check(
                &check,
                c1 == c2 && *c1 != crc_a,
                format!(
                    "{tag} 64x64 cursor at {CUR_X},{CUR_Y} over the bars: {c1:08x}; the bars with it drawn in: {c2:08x} (want equal, and not the bars' {crc_a:08x})"
                ),
            ),
            _ => r.fail(
                &check,
                format!("cursor: {with_cursor:?}; reference: {refcrc:?}"),
            ),
        }
        let _ = show(a.fb);
        let _ = dumbbuffer::destroy(fd, bo);
    }
    drop(crc);
    // Closed: the source is off; the next open starts it again.
    match CrcReader::open(&dir).and_then(|mut c| c.take(2)) {
        Ok(e) => r.check(
            "kms/crc-reopen",
            e.iter().all(|e| e.1 == crc_a),
            format!(
                "closed and opened again: {:08x?}",
                e.iter().map(|e| e.1).collect::<Vec<_>>()
            ),
        ),
        Err(e) => r.fail("kms/crc-reopen", e),
    }
}

/// Draws the cursor image `pixel` at (CUR_X, CUR_Y) into `fb` (the bars), blended over them.
fn draw_into(
    fd: BorrowedFd<'_>,
    fb: &Fb,
    w: u32,
    h: u32,
    pixel: &dyn Fn(u32, u32) -> u32,
) -> std::io::Result<()> {
    let off = dumbbuffer::map(fd, fb.handle, 0, 0)?.offset;
    let mut m = Mapping::new(fd, off, fb.size as usize)?;
    let bytes = m.bytes();
    for y in 0..CUR.min(h.saturating_sub(CUR_Y)) {
        for x in 0..CUR.min(w.saturating_sub(CUR_X)) {
            let o = ((CUR_Y + y) * fb.pitch + (CUR_X + x) * 4) as usize;
            let dst = u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
            bytes[o..o + 4].copy_from_slice(&over(pixel(x, y), dst).to_le_bytes());
        }
    }
    drop(m);
    Ok(())
}
