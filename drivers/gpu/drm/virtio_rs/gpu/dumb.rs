// SPDX-License-Identifier: GPL-2.0

//! Dumb buffer layout: validation of the user's request, pitch and size.
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// Page size the buffer size is rounded up to.
pub(crate) const PAGE_SIZE: u64 = 4096;

/// Largest width or height accepted (the display pipeline's limit; the host's too).
pub(crate) const MAX_DIM: u32 = 16384;

/// Why a dumb buffer request is refused (all map to `EINVAL`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DumbError {
    /// Only 32 bits per pixel (XRGB8888) is supported.
    Bpp,
    /// Zero width or height.
    Empty,
    /// Width or height above [`MAX_DIM`].
    TooLarge,
}

/// A validated dumb buffer layout.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DumbLayout {
    /// Bytes per row.
    pub(crate) pitch: u32,
    /// Buffer size in bytes, a multiple of [`PAGE_SIZE`].
    pub(crate) size: u64,
}

/// Computes the layout of a `width` x `height` buffer of `bpp` bits per pixel, overflow-safe.
pub(crate) fn layout(width: u32, height: u32, bpp: u32) -> Result<DumbLayout, DumbError> {
    if bpp != 32 {
        return Err(DumbError::Bpp);
    }
    if width == 0 || height == 0 {
        return Err(DumbError::Empty);
    }
    if width > MAX_DIM || height > MAX_DIM {
        return Err(DumbError::TooLarge);
    }
    // Both at most 2^14, so pitch <= 2^16 and size <= 2^30: no overflow in u64 (nor u32).
    let pitch = width * 4;
    let size = u64::from(pitch) * u64::from(height);
    let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    Ok(DumbLayout { pitch, size })
}
