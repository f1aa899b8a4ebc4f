// SPDX-License-Identifier: GPL-2.0

//! The rectangle of the display pipeline (`struct drm_rect`): damage, source rectangles.
//!
//! Pure `core` code, the one rectangle type of the KMS abstractions and of the device core's
//! pure update rules (`gpu/scanout.rs`), which the host tests build too. (The device's wire
//! rectangle, `gpu/protocol.rs` `Rect`, is x/y/width/height in the device's byte order and
//! stays its own type: it is the protocol.)

#![forbid(unsafe_code)]

/// A rectangle `x1..x2` by `y1..y2` (`struct drm_rect`): left and top inclusive, right and
/// bottom exclusive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DrmRect {
    /// Left edge (inclusive).
    pub(crate) x1: i32,
    /// Top edge (inclusive).
    pub(crate) y1: i32,
    /// Right edge (exclusive).
    pub(crate) x2: i32,
    /// Bottom edge (exclusive).
    pub(crate) y2: i32,
}

impl DrmRect {
    /// Width (0 for an empty or inverted rectangle).
    pub(crate) fn width(&self) -> u32 {
        u32::try_from(self.x2.saturating_sub(self.x1)).unwrap_or(0)
    }

    /// Height (0 for an empty or inverted rectangle).
    pub(crate) fn height(&self) -> u32 {
        u32::try_from(self.y2.saturating_sub(self.y1)).unwrap_or(0)
    }
}
