// SPDX-License-Identifier: GPL-2.0

//! Plane updates in device terms: which rectangle of a framebuffer to upload and flush, and
//! where its first byte is.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

use super::protocol::Rect;
/// A damaged rectangle of a framebuffer (as DRM merges it): the pipeline's one rectangle type.
pub(crate) use super::rect::DrmRect as Damage;
use super::rect::DrmRect;

/// The device's rectangle for a DRM rectangle, the part of it right of and below 0 (the
/// device's coordinates are unsigned).
pub(crate) fn wire_rect(r: DrmRect) -> Rect {
    let clamped = DrmRect {
        x1: r.x1.max(0),
        y1: r.y1.max(0),
        ..r
    };
    Rect {
        x: u32::try_from(clamped.x1).unwrap_or(0),
        y: u32::try_from(clamped.y1).unwrap_or(0),
        width: clamped.width(),
        height: clamped.height(),
    }
}

/// The layout of a framebuffer's first plane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FbLayout {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// Bytes per row.
    pub(crate) pitch: u32,
    /// Bytes per pixel.
    pub(crate) cpp: u32,
    /// Byte offset of the plane in its object.
    pub(crate) offset: u32,
}

/// An upload: the rectangle and the byte offset of its first pixel in the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Upload {
    /// The rectangle, clamped to the framebuffer.
    pub(crate) rect: Rect,
    /// Byte offset of `(rect.x, rect.y)` in the object.
    pub(crate) offset: u64,
}

/// Clamps `damage` to the framebuffer and computes the upload for it; `None` if nothing of
/// it is inside the framebuffer.
pub(crate) fn upload(damage: Damage, fb: FbLayout) -> Option<Upload> {
    let clamp = |v: i32, max: u32| -> u32 { u32::try_from(v.max(0)).unwrap_or(0).min(max) };
    let x1 = clamp(damage.x1, fb.width);
    let y1 = clamp(damage.y1, fb.height);
    let x2 = clamp(damage.x2, fb.width);
    let y2 = clamp(damage.y2, fb.height);
    if x2 <= x1 || y2 <= y1 {
        return None;
    }
    // Checked arithmetic: DRM validated the layout, but a wrapped offset must never reach
    // the device.
    let offset = u64::from(fb.offset)
        .checked_add(u64::from(y1).checked_mul(u64::from(fb.pitch))?)?
        .checked_add(u64::from(x1).checked_mul(u64::from(fb.cpp))?)?;
    Some(Upload {
        rect: Rect {
            x: x1,
            y: y1,
            width: x2 - x1,
            height: y2 - y1,
        },
        offset,
    })
}

/// Whether the host's `TRANSFER_TO_HOST_2D` of rectangle `r`, first pixel at byte `offset`,
/// reads only the resource's backing of `backing` bytes. The host reads `r.height` rows of
/// `r.width * 4` bytes, `width * 4` bytes apart (the stride of its copy of a `width` pixels
/// wide 2D resource: every virtio-gpu format has 4 bytes per pixel), the first at `offset`.
///
/// Neither DRM nor the uapi ties a framebuffer's pitch or a `VIRTGPU_TRANSFER_TO_HOST`'s
/// offset to that stride, and a `VIRTGPU_RESOURCE_CREATE` may have less backing than its
/// rows; QEMU 7.2 asserts (the whole VM stops) when a row starts past the backing's end.
/// Stricter than that one host: every row must end inside the backing.
pub(crate) fn transfer_in_backing(width: u32, backing: u64, r: Rect, offset: u64) -> bool {
    if r.height == 0 {
        return true;
    }
    let stride = u64::from(width) * 4;
    let end = stride
        .checked_mul(u64::from(r.height - 1))
        .and_then(|last| last.checked_add(offset))
        .and_then(|last| last.checked_add(u64::from(r.width) * 4));
    end.is_some_and(|end| end <= backing)
}
