// SPDX-License-Identifier: GPL-2.0

//! Display modes of a head without EDID: limits, the preferred mode and which modes are
//! valid, as the C driver decides them (`virtio_gpu_conn_get_modes`/`mode_valid`).
//!
//! Pure `core` code: also built by the host tests.

#![forbid(unsafe_code)]

/// Smallest framebuffer width.
pub(crate) const XRES_MIN: u32 = 32;
/// Smallest framebuffer height.
pub(crate) const YRES_MIN: u32 = 32;
/// Width of the preferred mode when the host has none.
pub(crate) const XRES_DEF: u32 = 1024;
/// Height of the preferred mode when the host has none.
pub(crate) const YRES_DEF: u32 = 768;
/// Largest framebuffer (and mode) width.
pub(crate) const XRES_MAX: u32 = 8192;
/// Largest framebuffer (and mode) height.
pub(crate) const YRES_MAX: u32 = 8192;
/// Refresh rate of the preferred mode made for the host's size.
pub(crate) const REFRESH: u32 = 60;
/// How much smaller than the host's size a preferred mode may be (CVT rounds sizes down).
const SLACK: i64 = 16;

/// Size of an EDID block.
pub(crate) const EDID_BLOCK: usize = 128;
/// Offset of the extension block count in the base block.
const EDID_EXTENSIONS: usize = 126;

/// The EDID in a `GET_EDID` answer: the base block and as many extension blocks as it
/// announces, as far as `raw` holds them (whole blocks only); empty without a base block.
/// The host reports the size of its whole buffer (QEMU: 1024 bytes), but the DRM core only
/// accepts an EDID whose size matches its block count, as `drm_edid_read_custom` in the C
/// driver produces.
pub(crate) fn edid_bytes(raw: &[u8]) -> &[u8] {
    let Some(&ext) = raw.get(EDID_EXTENSIONS) else {
        return &[];
    };
    let blocks = (1 + usize::from(ext)).min(raw.len() / EDID_BLOCK);
    raw.get(..blocks * EDID_BLOCK).unwrap_or(&[])
}

/// The preferred mode of a head without EDID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Preferred {
    /// The host gave no size: prefer the standard [`XRES_DEF`] x [`YRES_DEF`] mode.
    Default,
    /// Add a CVT mode of the host's size and prefer it.
    Cvt {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
}

/// The preferred mode for a head the host sized `width` x `height` (0: no size).
pub(crate) fn preferred(width: u32, height: u32) -> Preferred {
    if width == 0 || height == 0 {
        Preferred::Default
    } else {
        Preferred::Cvt { width, height }
    }
}

/// Highest refresh rate a mode may have, in Hz: the emulated vblank fires at the mode's rate.
pub(crate) const REFRESH_MAX: u64 = 1000;

/// The refresh rate, in mHz, of a mode with pixel clock `clock_khz`, `htotal` x `vtotal`
/// pixels, scanned `vscan` times (0 and 1: once), interlaced or double-scanned, computed as
/// `drm_mode_vrefresh` does but in 64 bits, so no total overflows; `None` for a clock that
/// is not positive or a total of 0.
pub(crate) fn refresh_mhz(
    clock_khz: i32,
    htotal: u16,
    vtotal: u16,
    vscan: u16,
    interlace: bool,
    dblscan: bool,
) -> Option<u64> {
    let clock = u64::try_from(clock_khz).ok().filter(|&c| c > 0)?;
    let mut num = clock * 1_000_000;
    let mut den = u64::from(htotal) * u64::from(vtotal);
    if interlace {
        num *= 2;
    }
    if dblscan {
        den *= 2;
    }
    if vscan > 1 {
        den *= u64::from(vscan);
    }
    if den == 0 {
        return None;
    }
    Some(num / den)
}

/// Whether a refresh rate of `mhz` millihertz (from [`refresh_mhz`]; `None`: no rate) is
/// from 1 Hz to [`REFRESH_MAX`]: the CRTC refuses modes userspace makes up with absurd clocks
/// or totals (igt `kms_invalid_mode`), which would otherwise run the emulated vblank at
/// megahertz or never.
pub(crate) fn refresh_valid(mhz: Option<u64>) -> bool {
    mhz.is_some_and(|r| (1000..=REFRESH_MAX * 1000).contains(&r))
}

/// Whether a probed mode of `hdisplay` x `vdisplay` is valid on a head the host sized
/// `width` x `height`: non-preferred modes always are; a preferred one only if it is the
/// default size or within [`SLACK`] pixels below the host's size.
pub(crate) fn mode_valid(
    preferred: bool,
    hdisplay: u32,
    vdisplay: u32,
    width: u32,
    height: u32,
) -> bool {
    if !preferred {
        return true;
    }
    if hdisplay == XRES_DEF && vdisplay == YRES_DEF {
        return true;
    }
    let (h, v, w, ht) = (
        i64::from(hdisplay),
        i64::from(vdisplay),
        i64::from(width),
        i64::from(height),
    );
    h <= w && h >= w - SLACK && v <= ht && v >= ht - SLACK
}
