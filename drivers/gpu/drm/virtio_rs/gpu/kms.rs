// SPDX-License-Identifier: GPL-2.0

//! The display pipeline: heads as KMS outputs, mode lists, plane updates as virtio-gpu
//! commands (`SET_SCANOUT`, `TRANSFER_TO_HOST_2D`, `RESOURCE_FLUSH`, cursor commands).
//!
//! virtio-gpu cannot set a mode apart from a plane update, so, as in the C driver, the mode
//! is set in the primary plane's update (`SET_SCANOUT` of the framebuffer's resource); the
//! CRTC only records that a modeset is due, and its disable shows nothing (resource 0).

#![forbid(unsafe_code)]

use kernel::{prelude::*, types::ARef};

use super::{
    commands,
    driver::{GpuDrm, GpuDrmDevice, GpuShared},
    modes::{self, Preferred},
    protocol::{CtrlHdr, CtrlType, CursorPos, Rect, UpdateCursor},
    scanout::{self, Damage, FbLayout},
};
use crate::{
    drm::kms::{
        self, format, DriverConnector, DriverCrtc, DriverPlane, Framebuffer, KmsDriver, Mode,
        ModeProbe, Output, PlaneKind, PlaneUpdate,
    },
    virtio::Buffers,
};

/// Creates the outputs of the device, one per scanout.
pub(crate) fn init(drm: &ARef<GpuDrmDevice>) -> Result<kms::Kms<GpuDrm>> {
    let shared = drm.data();
    kms::init(drm, shared.num_scanouts, shared.has_edid)
}

/// Runs `f` with the device if it is still plugged in; logs what fails.
fn with_hw(dev: &GpuDrmDevice, what: &str, f: impl FnOnce(&GpuShared) -> Result) {
    let Some(_guard) = dev.enter() else {
        return;
    };
    if let Err(e) = f(&dev.data()) {
        pr_warn!("{}: {:?}\n", what, e);
    }
}

impl DriverCrtc for GpuDrm {
    fn mode_set_nofb(dev: &GpuDrmDevice, output: &Output, width: u32, height: u32) {
        with_hw(dev, "mode set", |s| {
            let r = Rect {
                x: 0,
                y: 0,
                width,
                height,
            };
            s.control.set_scanout(output.index(), 0, r)
        });
    }

    fn atomic_flush(_dev: &GpuDrmDevice, output: &Output, needs_modeset: bool) {
        // The mode is set by the next primary plane update.
        if needs_modeset {
            output.set_needs_modeset();
        }
    }

    fn atomic_disable(dev: &GpuDrmDevice, output: &Output) {
        with_hw(dev, "crtc disable", |s| {
            s.control.set_scanout(output.index(), 0, Rect::default())
        });
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

/// The primary plane changed: upload the damage, set the scanout if the framebuffer, the
/// source rectangle or the mode changed, flush.
fn primary_update(s: &GpuShared, output: &Output, up: &PlaneUpdate<'_, GpuDrm>) -> Result {
    let new = up.new_state();
    let src = new.src();
    let src_rect = Rect {
        x: src.x,
        y: src.y,
        width: src.width,
        height: src.height,
    };
    let fb = match new.fb() {
        Some(fb) if up.crtc_active() => fb,
        _ => {
            let r = Rect {
                x: 0,
                y: 0,
                width: src.width,
                height: src.height,
            };
            return s.control.set_scanout(output.index(), 0, r);
        }
    };
    let Some(d) = up.damage() else {
        return Ok(());
    };
    let obj = fb.object().ok_or(EINVAL)?;
    let id = obj.data().id();
    let damage = Damage {
        x1: d.x1,
        y1: d.y1,
        x2: d.x2,
        y2: d.y2,
    };
    // Nothing here waits for the device (as in the C driver): the control queue is handled
    // in order, so the flush follows the upload, and anything that frees the framebuffer's
    // resource (RESOURCE_UNREF, which is waited for) comes after both. The answers are
    // checked when they come back.
    // One notification of the device for the whole update, when `batch` is dropped.
    let batch = s.control.batch();
    let upload = scanout::upload(damage, layout(fb));
    if let Some(u) = upload {
        batch.transfer_to_host_2d(id, u.rect, u.offset)?;
    }
    let modeset = output.take_needs_modeset();
    if up.fb_changed() || new.src_fixed() != up.old().src_fixed() || modeset {
        batch.set_scanout(output.index(), id, src_rect)?;
    }
    match upload {
        Some(u) => batch.resource_flush(id, u.rect),
        None => Ok(()),
    }
}

/// Sends a cursor command; the cursor queue has no responses to wait for.
fn cursor_command(s: &GpuShared, cmd: &UpdateCursor) -> Result {
    let bufs = Buffers {
        out: commands::encode(cmd)?,
        input: KVec::new(),
    };
    s.cursor.submit(bufs, false)?;
    Ok(())
}

/// The cursor plane changed: upload a new image and show it (`UPDATE_CURSOR`), or move the
/// cursor (`MOVE_CURSOR`).
fn cursor_update(s: &GpuShared, output: &Output, up: &PlaneUpdate<'_, GpuDrm>) -> Result {
    let new = up.new_state();
    let fb = new.fb();
    let id = match fb {
        Some(fb) => fb.object().ok_or(EINVAL)?.data().id(),
        None => 0,
    };
    let (x, y) = new.crtc_pos();
    let mut cmd = UpdateCursor {
        hdr: CtrlHdr::new(CtrlType::MOVE_CURSOR),
        pos: CursorPos {
            scanout_id: output.index(),
            // The device takes the position as unsigned; off-screen to the left or top wraps,
            // as with the C driver.
            x: x as u32,
            y: y as u32,
            padding: 0,
        },
        ..UpdateCursor::default()
    };
    if up.fb_changed() {
        if let Some(fb) = fb {
            // A new image: upload it whole and wait (the call does) before showing it.
            let (w, h) = new.crtc_size();
            let r = Rect {
                x: 0,
                y: 0,
                width: w.min(fb.width()),
                height: h.min(fb.height()),
            };
            s.control.transfer_to_host_2d(id, r, 0)?;
            let (hx, hy) = new.hotspot();
            cmd.hot_x = hx as u32;
            cmd.hot_y = hy as u32;
        }
        cmd.hdr = CtrlHdr::new(CtrlType::UPDATE_CURSOR);
        cmd.resource_id = id;
    }
    cursor_command(s, &cmd)
}

impl DriverPlane for GpuDrm {
    const PRIMARY_FORMATS: &'static [u32] = &[format::HOST_XRGB8888];
    const CURSOR_FORMATS: &'static [u32] = &[format::HOST_ARGB8888];

    fn atomic_update(
        dev: &GpuDrmDevice,
        output: &Output,
        kind: PlaneKind,
        update: &PlaneUpdate<'_, GpuDrm>,
    ) {
        match kind {
            PlaneKind::Primary => with_hw(dev, "primary plane update", |s| {
                primary_update(s, output, update)
            }),
            PlaneKind::Cursor => with_hw(dev, "cursor plane update", |s| {
                cursor_update(s, output, update)
            }),
        }
    }
}

impl DriverConnector for GpuDrm {
    fn detect(dev: &GpuDrmDevice, output: &Output) -> bool {
        dev.data()
            .displays
            .with_head(output.index(), |h| h.state.enabled)
            .unwrap_or(false)
    }

    fn get_modes(dev: &GpuDrmDevice, output: &Output, probe: &ModeProbe<'_>) -> u32 {
        let shared = dev.data();
        let has_edid = shared.has_edid;
        // Copy what is needed and let go of the heads' lock before calling into DRM, so the
        // lock never nests inside (or around) DRM's mode config locks.
        let Some((edid, width, height)) = shared.displays.with_head(output.index(), |h| {
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

    fn mode_valid(dev: &GpuDrmDevice, output: &Output, mode: &Mode) -> bool {
        let (width, height) = dev
            .data()
            .displays
            .with_head(output.index(), |h| (h.state.width, h.state.height))
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

impl KmsDriver for GpuDrm {
    const FB_FORMATS: &'static [u32] = &[format::HOST_XRGB8888, format::HOST_ARGB8888];
    const MIN_SIZE: (u32, u32) = (modes::XRES_MIN, modes::YRES_MIN);
    const MAX_SIZE: (u32, u32) = (modes::XRES_MAX, modes::YRES_MAX);
}
