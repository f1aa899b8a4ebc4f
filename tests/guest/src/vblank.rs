// SPDX-License-Identifier: GPL-2.0
//! The vblank ioctl that `drm-ffi` does not cover: `DRM_IOCTL_CRTC_GET_SEQUENCE`
//! (`include/uapi/drm/drm.h`), with the `drm-sys` mirror of its struct.

use std::io;
use std::os::fd::BorrowedFd;

use drm_ffi::drm_sys::drm_crtc_get_sequence;
use rustix::ioctl::{ioctl, opcode, Opcode, Updater};

/// `DRM_IOCTL_CRTC_GET_SEQUENCE`: `DRM_IOWR(0x3b, struct drm_crtc_get_sequence)`.
const GET_SEQUENCE: Opcode = opcode::read_write::<drm_crtc_get_sequence>(b'd', 0x3b);

// The uapi struct is 24 bytes (u32 crtc_id, u32 active, u64 sequence, s64 sequence_ns); the
// size is part of the ioctl number.
const _: () = assert!(std::mem::size_of::<drm_crtc_get_sequence>() == 24);

/// The current vblank count and time of CRTC `crtc_id`, and whether it is active.
pub fn crtc_get_sequence(fd: BorrowedFd<'_>, crtc_id: u32) -> io::Result<drm_crtc_get_sequence> {
    let mut arg = drm_crtc_get_sequence {
        crtc_id,
        ..Default::default()
    };
    // SAFETY: GET_SEQUENCE is built from this ioctl's number and `drm_crtc_get_sequence`, the
    // #[repr(C)] mirror of its uapi struct (size asserted above), which holds no user pointers;
    // `arg` is a valid exclusive borrow for the kernel to copy in and out.
    unsafe { ioctl(fd, Updater::<GET_SEQUENCE, _>::new(&mut arg)) }?;
    Ok(arg)
}
