// SPDX-License-Identifier: GPL-2.0

//! The display pipeline: heads as KMS outputs, mode lists, plane updates as virtio-gpu
//! commands (`SET_SCANOUT`, `TRANSFER_TO_HOST_2D`, `RESOURCE_FLUSH`, cursor commands).
//!
//! virtio-gpu cannot set a mode apart from a plane update, so, as in the C driver, the mode
//! is set in the primary plane's update (`SET_SCANOUT` of the framebuffer's resource); the
//! CRTC only records that a modeset is due, and its disable shows nothing (resource 0).

#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, Ordering};

use kernel::{alloc::KVVec, c_str, new_mutex, prelude::*, sync::Mutex, types::ARef};

use super::rect::DrmRect;
use super::{
    crc,
    driver::{self, GpuDrm, GpuDrmDevice, GpuShared, Hw},
    modes::{self, Preferred},
    protocol::{CtrlHdr, CtrlType, CursorPos, Rect, UpdateCursor},
    scanout::{self, FbLayout},
};
use crate::drm::kms::{
    crtc::CrcSources, format, CommitTail, Connector, ConnectorType, Crtc, DriverConnector,
    DriverCrtc, DriverPlane, EncoderType, FlushEvent, Framebuffer, Kms, KmsBuilder, KmsDriver,
    Mode, ModeConfigInfo, ModeProbe, Plane, PlaneCheck, PlaneState, PlaneType, PlaneUpdate,
    ScanoutBuffer, NO_SCALING,
};

/// The CRTC of a head.
pub(crate) struct GpuCrtc {
    /// The head's scanout id.
    scanout: u32,
    /// A modeset is pending: the next primary plane update sends `SET_SCANOUT`.
    needs_modeset: AtomicBool,
    /// The commit's primary plane update flushed a host-rendered resource: its event goes
    /// out at once (see [`primary_update`]).
    event_now: AtomicBool,
    /// What the CRC source composes, while it is on.
    crc: Pin<KBox<Mutex<Scene>>>,
}

/// The one CRC source: the picture composed in the guest (see `crc.rs`).
static CRC_SOURCES: CrcSources<1> = CrcSources::new([c_str!("auto")]);

/// What a head shows, as the CRC source keeps it between plane updates (empty while the
/// source is off): the primary plane's pixels on the head, the CRCs of the tiles and rows
/// with the cursor blended, and a copy of the cursor image. Each plane update refreshes its
/// own part, so nothing here refers to a framebuffer.
struct Scene {
    width: u32,
    height: u32,
    /// `width * height` XRGB8888 pixels.
    primary: KVVec<u32>,
    /// The CRC of each tile (`crc::TILE` pixels of a row), row after row, cursor included.
    tiles: KVVec<u32>,
    /// The CRC of each row, from its tiles'.
    rows: KVVec<u32>,
    cursor: Option<CursorCopy>,
}

/// The cursor image (ARGB8888) and where it is.
struct CursorCopy {
    pixels: KVec<u32>,
    width: u32,
    height: u32,
    x: i32,
    y: i32,
}

impl CursorCopy {
    fn view(&self) -> crc::Cursor<'_> {
        crc::Cursor {
            pixels: &self.pixels,
            width: self.width,
            height: self.height,
            x: self.x,
            y: self.y,
        }
    }
}

/// Reads `width` x `height` pixels at (`x`, `y`) of the framebuffer `fb` into `out` (XRGB or
/// ARGB8888 as stored), through the object's kernel mapping (made if needed: may sleep).
fn read_pixels(
    fb: &Framebuffer<GpuDrm>,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    out: &mut [u32],
) -> Result {
    if fb.cpp() != 4 || out.len() < width as usize * height as usize {
        return Err(EINVAL);
    }
    let obj = fb.object().ok_or(EINVAL)?;
    let map = obj.map_kernel()?;
    let mut row = KVec::from_elem(0u8, width as usize * 4, GFP_KERNEL)?;
    for r in 0..height {
        let off = (fb.offset() as usize)
            .checked_add(
                (y as usize + r as usize)
                    .checked_mul(fb.pitch() as usize)
                    .ok_or(EINVAL)?,
            )
            .and_then(|o| o.checked_add(x as usize * 4))
            .ok_or(EINVAL)?;
        map.read(off, &mut row)?;
        let dst = out
            .get_mut(r as usize * width as usize..(r as usize + 1) * width as usize)
            .ok_or(EINVAL)?;
        for (i, d) in dst.iter_mut().enumerate() {
            let b = row.get(i * 4..i * 4 + 4).ok_or(EINVAL)?;
            *d = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }
    Ok(())
}

impl Scene {
    /// An empty picture (the CRC source is off).
    fn empty() -> Self {
        Self {
            width: 0,
            height: 0,
            primary: KVVec::new(),
            tiles: KVVec::new(),
            rows: KVVec::new(),
            cursor: None,
        }
    }

    /// Takes the primary plane's new state: its framebuffer's pixels in the source rectangle
    /// (no scaling: the plane covers the head), then every tile's and row's CRC again.
    fn set_primary(&mut self, state: &PlaneState<GpuPlane>) -> Result {
        let (width, height) = match state.fb() {
            Some(_) if state.visible() => state.crtc_size(),
            _ => (0, 0),
        };
        let n = width as usize * height as usize;
        let mut primary = KVVec::with_capacity(n, GFP_KERNEL)?;
        primary.extend_with(n, 0, GFP_KERNEL)?;
        if let Some(fb) = state.fb().filter(|_| n > 0) {
            let src = state.src();
            read_pixels(
                fb,
                src.x1 as u32,
                src.y1 as u32,
                width,
                height,
                &mut primary,
            )?;
        }
        let nt = height as usize * crc::tiles_per_row(width) as usize;
        let mut tiles = KVVec::with_capacity(nt, GFP_KERNEL)?;
        tiles.extend_with(nt, 0, GFP_KERNEL)?;
        let mut rows = KVVec::with_capacity(height as usize, GFP_KERNEL)?;
        rows.extend_with(height as usize, 0, GFP_KERNEL)?;
        self.width = width;
        self.height = height;
        self.primary = primary;
        self.tiles = tiles;
        self.rows = rows;
        self.update(0..height, 0..crc::tiles_per_row(width))
    }

    /// Takes the cursor plane's new state: its position, and with `new_image` (a new
    /// framebuffer) a copy of its image; the tiles it covered and covers get their CRCs again.
    fn set_cursor(&mut self, state: Option<&PlaneState<GpuPlane>>, new_image: bool) -> Result {
        let shown = state.and_then(|s| s.fb().filter(|_| s.visible()).map(|fb| (s, fb)));
        let old = self.cursor.as_ref().map(|c| self.region(&c.view()));
        match shown {
            Some((s, fb)) => {
                let (x, y) = s.crtc_pos();
                match self.cursor.as_mut().filter(|_| !new_image) {
                    // A move: the image is the one copied before.
                    Some(c) => {
                        c.x = x;
                        c.y = y;
                    }
                    None => {
                        let (width, height) = s.crtc_size();
                        let (w, h) = (width.min(fb.width()), height.min(fb.height()));
                        let mut pixels =
                            KVec::from_elem(0u32, w as usize * h as usize, GFP_KERNEL)?;
                        let src = s.src();
                        read_pixels(fb, src.x1 as u32, src.y1 as u32, w, h, &mut pixels)?;
                        self.cursor = Some(CursorCopy {
                            pixels,
                            width: w,
                            height: h,
                            x,
                            y,
                        });
                    }
                }
            }
            None => self.cursor = None,
        }
        if let Some((rows, tiles)) = old {
            self.update(rows, tiles)?;
        }
        if let Some((rows, tiles)) = self.cursor.as_ref().map(|c| self.region(&c.view())) {
            self.update(rows, tiles)?;
        }
        Ok(())
    }

    /// The rows and the tiles of each row that cursor `c` covers.
    fn region(&self, c: &crc::Cursor<'_>) -> (core::ops::Range<u32>, core::ops::Range<u32>) {
        (c.rows(self.height), c.tiles(self.width))
    }

    /// Computes the CRCs of tiles `tiles` of rows `rows` again, and of those rows.
    fn update(&mut self, rows: core::ops::Range<u32>, tiles: core::ops::Range<u32>) -> Result {
        let w = self.width as usize;
        let nt = crc::tiles_per_row(self.width) as usize;
        let cursor = self.cursor.as_ref().map(CursorCopy::view);
        for y in rows {
            let row = self.primary.get(y as usize * w..).ok_or(EINVAL)?;
            for t in tiles.clone() {
                let c = crc::tile_crc(row, self.width, y, t, cursor.as_ref()).ok_or(EINVAL)?;
                *self
                    .tiles
                    .get_mut(y as usize * nt + t as usize)
                    .ok_or(EINVAL)? = c;
            }
            let own = self
                .tiles
                .get(y as usize * nt..(y as usize + 1) * nt)
                .ok_or(EINVAL)?;
            *self.rows.get_mut(y as usize).ok_or(EINVAL)? = crc::row_from_tiles(own);
        }
        Ok(())
    }

    /// The CRC of the whole picture.
    fn frame(&self) -> u32 {
        crc::frame_crc(self.width, self.height, &self.rows).unwrap_or(0)
    }
}

/// A plane of `crtc` changed in a commit (or an async cursor update): if the CRC source is on,
/// the plane's part of the picture is taken again and the new CRC reported from the next
/// vblank. A failure (memory) is logged; the last CRC stays.
fn crc_plane_update(crtc: &Crtc<GpuCrtc>, kind: PlaneType, up: &PlaneUpdate<'_, GpuPlane>) {
    if !crtc.crc_enabled() {
        return;
    }
    let mut scene = crtc.crc.lock();
    let done = match kind {
        PlaneType::Cursor => scene.set_cursor(Some(up.new_state()), up.fb_changed()),
        _ => scene.set_primary(up.new_state()),
    };
    match done {
        Ok(()) => crtc.queue_crc(scene.frame()),
        Err(e) => pr_warn!("CRC source: composing the picture: {:?}\n", e),
    }
}

/// The primary or cursor plane of a head.
pub(crate) struct GpuPlane {
    /// The head's scanout id.
    scanout: u32,
    /// Primary or cursor.
    kind: PlaneType,
}

/// The connector of a head.
pub(crate) struct GpuConnector {
    /// The head's scanout id.
    scanout: u32,
}

/// The topology, chosen here: per scanout a primary and a cursor plane, a CRTC on them, a
/// Virtual encoder and a Virtual connector (with an EDID property if the device has EDIDs),
/// as the C driver has it.
pub(crate) fn init(drm: &ARef<GpuDrmDevice>) -> Result<Kms<GpuDrm>> {
    let shared = drm.data();
    let mut b = KmsBuilder::new(drm)?;
    for scanout in 0..shared.num_scanouts {
        // CRTCs are numbered in creation order: this head's CRTC gets index `scanout`.
        let mask = 1u32.checked_shl(scanout).ok_or(EINVAL)?;
        let plane =
            |kind, formats: &[u32]| b.plane(kind, formats, mask, GpuPlane { scanout, kind });
        let primary = plane(PlaneType::Primary, &[format::HOST_XRGB8888])?;
        let cursor = plane(PlaneType::Cursor, &[format::HOST_ARGB8888])?;
        b.enable_fb_damage_clips(primary);
        let crtc = b.crtc(
            primary,
            Some(cursor),
            GpuCrtc {
                scanout,
                needs_modeset: AtomicBool::new(false),
                event_now: AtomicBool::new(false),
                crc: KBox::pin_init(new_mutex!(Scene::empty()), GFP_KERNEL)?,
            },
        )?;
        if crtc.index() != scanout {
            return Err(EINVAL);
        }
        // The connector before the encoder, as the C driver creates them: userspace sees the
        // same object ids.
        let conn = b.connector(
            ConnectorType::Virtual,
            shared.has_edid,
            GpuConnector { scanout },
        )?;
        let enc = b.encoder(EncoderType::Virtual, mask)?;
        b.attach_encoder(conn, enc)?;
    }
    b.finish()
}

/// Runs `f` with the device if it is still plugged in; logs what fails.
fn with_hw(dev: &GpuDrmDevice, what: &str, f: impl FnOnce(&Hw<'_>, &GpuShared) -> Result) {
    let Some(hw) = dev.enter() else {
        return;
    };
    if let Err(e) = f(&hw, &dev.data()) {
        pr_warn!("{}: {:?}\n", what, e);
    }
}

#[vtable]
impl DriverCrtc for GpuCrtc {
    type Driver = GpuDrm;

    /// Modes with a refresh rate outside 1 Hz to [`modes::REFRESH_MAX`] are refused (the
    /// emulated vblank runs at the mode's rate).
    fn mode_valid(_crtc: &Crtc<Self>, mode: &Mode) -> bool {
        let t = mode.timing();
        modes::refresh_valid(modes::refresh_mhz(
            t.clock_khz,
            t.htotal,
            t.vtotal,
            t.vscan,
            t.interlace,
            t.dblscan,
        ))
    }

    fn mode_set_nofb(crtc: &Crtc<Self>, mode: &Mode) {
        with_hw(crtc.device(), "mode set", |hw, s| {
            let r = Rect {
                x: 0,
                y: 0,
                width: mode.hdisplay(),
                height: mode.vdisplay(),
            };
            s.control.set_scanout(hw, crtc.scanout, 0, r)
        });
    }

    fn atomic_flush(crtc: &Crtc<Self>, needs_modeset: bool) -> FlushEvent {
        // The mode is set by the next primary plane update.
        if needs_modeset {
            crtc.needs_modeset.store(true, Ordering::Relaxed);
        }
        if crtc.event_now.swap(false, Ordering::Relaxed) {
            FlushEvent::Now
        } else {
            FlushEvent::NextVblank
        }
    }

    fn atomic_disable(crtc: &Crtc<Self>) {
        with_hw(crtc.device(), "crtc disable", |hw, s| {
            s.control.set_scanout(hw, crtc.scanout, 0, Rect::default())
        });
    }

    /// The CRC source "auto" on: the picture is composed from the planes' current states (all
    /// modeset locks held) and its CRC reported every vblank; off: the picture is dropped.
    fn set_crc_source(crtc: &Crtc<Self>, source: Option<&CStr>) -> Result {
        let Some(source) = source else {
            crtc.set_crc_enabled(false, 0)?;
            *crtc.crc.lock() = Scene::empty();
            return Ok(());
        };
        if source.as_bytes() != b"auto" {
            return Err(EINVAL);
        }
        let crc = crtc.with_plane_states::<GpuPlane, _>(|primary, cursor| -> Result<u32> {
            let mut scene = crtc.crc.lock();
            match primary {
                Some(p) => scene.set_primary(p)?,
                None => *scene = Scene::empty(),
            }
            scene.set_cursor(cursor, true)?;
            Ok(scene.frame())
        })?;
        crtc.set_crc_enabled(true, crc)
    }

    /// "auto" (or none, to stop): one CRC value per frame.
    fn verify_crc_source(_crtc: &Crtc<Self>, source: Option<&CStr>) -> Result<usize> {
        match source {
            Some(s) if s.as_bytes() != b"auto" => Err(EINVAL),
            _ => Ok(1),
        }
    }

    fn get_crc_sources(_crtc: &Crtc<Self>) -> &'static [*const kernel::ffi::c_char] {
        CRC_SOURCES.as_slice()
    }
}

/// The whole of `fb`, as damage.
fn whole(fb: &Framebuffer<GpuDrm>) -> DrmRect {
    DrmRect {
        x1: 0,
        y1: 0,
        x2: i32::try_from(fb.width()).unwrap_or(i32::MAX),
        y2: i32::try_from(fb.height()).unwrap_or(i32::MAX),
    }
}

/// The part of cursor framebuffer `fb` that a new cursor image uploads (from byte 0, as the
/// C driver): as much as the plane shows.
fn cursor_image(state: &PlaneState<GpuPlane>, fb: &Framebuffer<GpuDrm>) -> Rect {
    let (w, h) = state.crtc_size();
    Rect {
        x: 0,
        y: 0,
        width: w.min(fb.width()),
        height: h.min(fb.height()),
    }
}

/// The layout of `fb`'s first plane.
fn layout(fb: &Framebuffer<GpuDrm>) -> FbLayout {
    FbLayout {
        width: fb.width(),
        height: fb.height(),
        pitch: fb.pitch(),
        cpp: fb.cpp(),
        offset: fb.offset(),
    }
}

/// `EINVAL` if the uploads of `state`'s framebuffer would read past its object
/// ([`driver::transfer_2d`]): a layout the host cannot read (a pitch below the resource's
/// width, the picture at the end of its object) is refused by the commit, not left to fail
/// in the update. The whole framebuffer covers every damage upload: a damaged row is read
/// at the resource's stride from a start at most the whole one's, or, with a larger pitch,
/// lies inside the object as DRM checked.
fn uploadable(kind: PlaneType, state: &PlaneState<GpuPlane>) -> Result {
    let Some(fb) = state.fb() else {
        return Ok(());
    };
    let obj = fb.object().ok_or(EINVAL)?;
    let (rect, offset) = match kind {
        PlaneType::Cursor => (cursor_image(state, fb), 0),
        _ if obj.data().is_dumb() => match scanout::upload(whole(fb), layout(fb)) {
            Some(u) => (u.rect, u.offset),
            None => return Ok(()),
        },
        // Not uploaded: the host renders it.
        _ => return Ok(()),
    };
    driver::transfer_2d(obj, rect, offset).map(|_| ())
}

/// The primary plane changed: upload the damage, set the scanout if the framebuffer, the
/// source rectangle or the mode changed, flush.
///
/// The commit's event: for a dumb buffer it waits for the emulated vblank, as on a display
/// controller (the client draws into its buffers with the CPU, outside the device's queue).
/// For a host-rendered resource it goes out at once ([`FlushEvent::Now`]), as the C driver
/// sends every event: the host draws the resource into its window when it handles the flush,
/// and whatever renders into a buffer next reaches the device through the same control
/// queue, after the flush, so there is nothing to pace against. Waiting for the emulated
/// vblank there cost kmscube through virgl a sixth of its frame rate (a frame that missed a
/// refresh waited for the next one); upstream's virtio-gpu, once it had vblank timers, went
/// the same way (the event sent on flush for host-backed buffers).
fn primary_update(
    hw: &Hw<'_>,
    s: &GpuShared,
    plane: &Plane<GpuPlane>,
    up: &PlaneUpdate<'_, GpuPlane>,
) -> Result {
    let new = up.new_state();
    let src = new.src();
    let src_rect = scanout::wire_rect(src);
    let fb = match new.fb() {
        Some(fb) if up.crtc_active() => fb,
        _ => {
            let r = Rect {
                x: 0,
                y: 0,
                width: src.width(),
                height: src.height(),
            };
            return s.control.set_scanout(hw, plane.scanout, 0, r);
        }
    };
    let Some(damage) = up.damage() else {
        return Ok(());
    };
    let obj = fb.object().ok_or(EINVAL)?;
    let id = obj.data().id();
    // Nothing here waits for the device (as in the C driver): the control queue is handled
    // in order, so the flush follows the upload, and anything that frees the framebuffer's
    // resource (RESOURCE_UNREF, whose answer its pages wait for) comes after both. The answers are
    // checked when they come back.
    // One notification of the device for the whole update, when `batch` is dropped.
    let batch = s.control.batch(hw);
    let upload = scanout::upload(damage, layout(fb));
    // Only a dumb buffer's pages hold the picture; the host renders other resources itself
    // (as in the C driver): they are flushed, not uploaded.
    let dumb = obj.data().is_dumb();
    if let Some(u) = upload.filter(|_| dumb) {
        batch.transfer_to_host_2d(&driver::transfer_2d(obj, u.rect, u.offset)?)?;
    }
    let modeset = up
        .crtc::<GpuCrtc>()
        .is_some_and(|c| c.needs_modeset.swap(false, Ordering::Relaxed));
    if up.fb_changed() || new.src_fixed() != up.old().src_fixed() || modeset {
        batch.set_scanout(plane.scanout, id, src_rect)?;
    }
    let Some(u) = upload else {
        return Ok(());
    };
    batch.resource_flush(id, u.rect)?;
    if !dumb {
        if let Some(crtc) = up.crtc::<GpuCrtc>() {
            crtc.event_now.store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// The cursor plane changed: upload a new image and show it (`UPDATE_CURSOR`), or move the
/// cursor (`MOVE_CURSOR`).
fn cursor_update(
    hw: &Hw<'_>,
    s: &GpuShared,
    plane: &Plane<GpuPlane>,
    up: &PlaneUpdate<'_, GpuPlane>,
) -> Result {
    let new = up.new_state();
    let obj = match new.fb() {
        Some(fb) => Some(fb.object().ok_or(EINVAL)?),
        None => None,
    };
    let id = obj.map_or(0, |o| o.data().id());
    let (x, y) = new.crtc_pos();
    let mut cmd = UpdateCursor {
        hdr: CtrlHdr::new(CtrlType::MOVE_CURSOR),
        pos: CursorPos {
            scanout_id: plane.scanout,
            // The device takes the position as unsigned; off-screen to the left or top wraps,
            // as with the C driver.
            x: x as u32,
            y: y as u32,
            padding: 0,
        },
        ..UpdateCursor::default()
    };
    if up.fb_changed() {
        if let (Some(fb), Some(obj)) = (new.fb(), obj) {
            // A new image: upload it whole and wait (the call does) before showing it.
            let t = driver::transfer_2d(obj, cursor_image(new, fb), 0)?;
            s.control.transfer_to_host_2d(hw, &t)?;
            let (hx, hy) = new.hotspot();
            cmd.hot_x = hx as u32;
            cmd.hot_y = hy as u32;
        }
        cmd.hdr = CtrlHdr::new(CtrlType::UPDATE_CURSOR);
        cmd.resource_id = id;
    }
    s.cursor.send(hw, &cmd)
}

#[vtable]
impl DriverPlane for GpuPlane {
    type Driver = GpuDrm;
    type State = ();

    /// As the C driver's: no scaling, cursors may be positioned freely, and a new framebuffer
    /// is uploaded whole (its damage clips ignored).
    fn atomic_check(plane: &Plane<Self>, check: &mut PlaneCheck<'_, Self>) -> Result {
        let old_fb = check.old().fb().map(core::ptr::from_ref);
        let new_fb = check.new_state().fb().map(core::ptr::from_ref);
        if new_fb.is_some() && old_fb != new_fb {
            check.ignore_damage_clips();
        }
        let is_cursor = plane.kind == PlaneType::Cursor;
        check.check_plane_state(NO_SCALING, NO_SCALING, is_cursor, true)?;
        uploadable(plane.kind, check.new_state())
    }

    /// Cursor updates are applied at once, without waiting for a vblank, when the DRM core
    /// allows it (a legacy cursor ioctl changing only the cursor plane, on an active CRTC,
    /// with no commit of the plane still in flight): the device moves or replaces the cursor
    /// when it gets the command, so there is nothing to synchronise with. Other planes
    /// (and every other commit) go the normal way.
    fn atomic_async_check(plane: &Plane<Self>, check: &mut PlaneCheck<'_, Self>) -> Result {
        if plane.kind != PlaneType::Cursor {
            return Err(EINVAL);
        }
        Self::atomic_check(plane, check)
    }

    /// The cursor's new position or image, sent at once (as [`DriverPlane::atomic_update`]
    /// sends it in a commit).
    fn atomic_async_update(plane: &Plane<Self>, update: &PlaneUpdate<'_, Self>) {
        if let Some(crtc) = update.crtc::<GpuCrtc>() {
            crc_plane_update(crtc, plane.kind, update);
        }
        with_hw(plane.device(), "async cursor update", |hw, s| {
            cursor_update(hw, s, plane, update)
        });
    }

    /// A primary plane's framebuffer gets a kernel mapping that lasts as long as its object,
    /// for drm_panic to draw into (made once per object: later flips cost nothing). Without
    /// one the panic screen is not drawn; the commit goes on. While the CRC source is on, a
    /// cursor's framebuffer is mapped too (the composer reads it), here where sleeping is
    /// allowed.
    fn prepare_fb(plane: &Plane<Self>, new: &mut PlaneState<Self>) -> Result {
        let crc_on = new.crtc::<GpuCrtc>().is_some_and(|c| c.crc_enabled());
        if plane.kind != PlaneType::Primary && !crc_on {
            return Ok(());
        }
        if let Some(obj) = new.fb().and_then(|fb| fb.object()) {
            if let Err(e) = obj.map_kernel() {
                pr_warn!("no kernel mapping for the panic screen or CRCs: {:?}\n", e);
            }
        }
        Ok(())
    }

    /// The primary plane's framebuffer, through the mapping `prepare_fb` made.
    fn get_scanout_buffer(
        _plane: &Plane<Self>,
        state: &PlaneState<Self>,
        sb: &mut ScanoutBuffer,
    ) -> Result {
        if !state.visible() {
            return Err(ENODEV);
        }
        sb.set(state.fb().ok_or(ENODEV)?)
    }

    /// Uploads and flushes the whole framebuffer with the reserved, polled requests of
    /// [`Control::panic_update`](super::commands::Control::panic_update).
    fn panic_flush(plane: &Plane<Self>, state: &PlaneState<Self>) {
        let Some(fb) = state.fb() else {
            return;
        };
        let Some(obj) = fb.object() else {
            return;
        };
        let Some(up) = scanout::upload(whole(fb), layout(fb)) else {
            return;
        };
        let flush = scanout::wire_rect(state.src());
        with_hw(plane.device(), "panic flush", |hw, s| {
            let t = driver::transfer_2d(obj, up.rect, up.offset)?;
            s.control.panic_update(hw, &t, flush)
        });
    }

    fn atomic_update(plane: &Plane<Self>, update: &PlaneUpdate<'_, Self>) {
        if let Some(crtc) = update.crtc::<GpuCrtc>() {
            crc_plane_update(crtc, plane.kind, update);
        }
        match plane.kind {
            PlaneType::Cursor => with_hw(plane.device(), "cursor plane update", |hw, s| {
                cursor_update(hw, s, plane, update)
            }),
            _ => with_hw(plane.device(), "primary plane update", |hw, s| {
                primary_update(hw, s, plane, update)
            }),
        }
    }
}

#[vtable]
impl DriverConnector for GpuConnector {
    type Driver = GpuDrm;

    fn detect(conn: &Connector<Self>) -> bool {
        conn.device()
            .data()
            .displays
            .with_head(conn.scanout, |h| h.state.enabled)
            .unwrap_or(false)
    }

    fn get_modes(conn: &Connector<Self>, probe: &ModeProbe<'_>) -> u32 {
        // An EDID the user set wins over the device's, as in C (its `drm_edid_read_custom`
        // and the EDID property its `get_modes` reads both honour the override): igt's
        // forced EDIDs, `drm.edid_firmware`.
        let count = probe.add_override_modes();
        if count > 0 {
            return count;
        }
        let shared = conn.device().data();
        let has_edid = shared.has_edid;
        // Copy what is needed and let go of the heads' lock before calling into DRM, so the
        // lock never nests inside (or around) DRM's mode config locks.
        let Some((edid, width, height)) = shared.displays.with_head(conn.scanout, |h| {
            let mut edid = KVec::new();
            if has_edid {
                let bytes = modes::edid_bytes(h.edid.get(..h.edid_len).unwrap_or(&[]));
                // Out of memory leaves `edid` empty (it reserves before it copies): no EDID
                // modes this time, the standard list instead.
                let _ = edid.extend_from_slice(bytes, GFP_KERNEL);
            }
            (edid, h.state.width, h.state.height)
        }) else {
            return 0;
        };
        let count = if has_edid {
            probe.add_edid_modes(&edid)
        } else {
            0
        };
        if count > 0 {
            return count;
        }
        let mut count = probe.add_modes_noedid(modes::XRES_MAX, modes::YRES_MAX);
        match modes::preferred(width, height) {
            Preferred::Default => probe.set_preferred_mode(modes::XRES_DEF, modes::YRES_DEF),
            Preferred::Cvt { width, height } => {
                if probe.add_preferred_cvt_mode(width, height, modes::REFRESH) {
                    count += 1;
                }
            }
        }
        count
    }

    fn mode_valid(conn: &Connector<Self>, mode: &Mode) -> bool {
        let (width, height) = conn
            .device()
            .data()
            .displays
            .with_head(conn.scanout, |h| (h.state.width, h.state.height))
            .unwrap_or((0, 0));
        modes::mode_valid(
            mode.is_preferred(),
            mode.hdisplay(),
            mode.vdisplay(),
            width,
            height,
        )
    }
}

#[vtable]
impl KmsDriver for GpuDrm {
    const FB_FORMATS: &'static [u32] = &[format::HOST_XRGB8888, format::HOST_ARGB8888];
    const CONFIG: ModeConfigInfo = ModeConfigInfo {
        min_size: (modes::XRES_MIN, modes::YRES_MIN),
        max_size: (modes::XRES_MAX, modes::YRES_MAX),
        // The host reads pixels in its own byte order, as the C driver tells DRM.
        prefer_host_byte_order: true,
        fb_modifiers: false,
        // Page flips may skip the vblank: the device shows a picture when it gets it.
        async_page_flip: true,
        // The host copies the picture on RESOURCE_FLUSH: no scanout timing to tear against,
        // so the commits of DIRTYFB and fbdev complete at once, as in the C driver.
        internal_events_now: true,
    };

    /// `drm_atomic_helper_commit_tail`, except that it waits for the commit's page flips
    /// instead of for one vblank on every active CRTC.
    ///
    /// The events complete the flips: armed for the next vblank, they make a synchronous flip
    /// wait for it just the same; sent at once for an asynchronous flip, they let it return at
    /// once, which the vblank wait would not (and the core lets only two commits per CRTC run
    /// ahead of their cleanup, so asynchronous flips would be held to twice the refresh rate).
    /// virtio-gpu needs no wait before the old framebuffers are cleaned up: the device takes
    /// the commands in order, so a resource is released only after the scanout moved off it.
    ///
    /// CRTCs are enabled before the planes are updated (as vkms does; the helpers' default
    /// updates the planes first): the CRTC's `atomic_flush` arms the commit's event for the
    /// next vblank, which needs the vblank on. In the other order a modeset's event found it
    /// off and was sent at once, before any vblank (igt `kms_cursor_legacy`'s
    /// nonblocking-modeset tests poll for it right after the commit). The device sees the
    /// same commands in the same order: `mode_set_nofb` runs with the disables.
    ///
    /// A CRTC that is turned off (or gets a new mode) keeps scanning out until its next
    /// vblank, as a display controller does: the commit waits for it first, so the event of a
    /// nonblocking modeset that turns the CRTC off comes a vblank later, not the moment the
    /// commit returns (where the vblank is already off, the event goes at once).
    fn atomic_commit_tail(tail: &CommitTail<'_>) {
        tail.vblank_before_disables();
        tail.modeset_disables();
        tail.modeset_enables();
        tail.planes();
        // Sends nothing: every CRTC has the (emulated) vblank.
        tail.fake_vblank();
        tail.hw_done();
        tail.wait_for_flip_done();
        tail.cleanup_planes();
    }
}
