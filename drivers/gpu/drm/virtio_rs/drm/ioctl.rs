// SPDX-License-Identifier: GPL-2.0

//! Driver ioctls: a safe handler trait and a table builder with compile-time checks.
//!
//! Each ioctl is a type implementing [`Ioctl`]; [`desc`] turns it into a `drm_ioctl_desc`
//! whose C entry point is a generic trampoline, so drivers write no `unsafe`. The argument
//! struct's size must equal the size encoded in the ioctl number (checked at compile time),
//! which is what `drm_ioctl` copies in and out.
//!
//! C header: [`include/drm/drm_ioctl.h`](srctree/include/drm/drm_ioctl.h)

use core::mem::size_of;

use kernel::{ffi::c_int, ffi::c_void, prelude::*};

use super::{driver::Driver, Device, File};
use crate::glue::bindings;

/// `DRM_RENDER_ALLOW`: the ioctl may be used on render nodes.
pub(crate) const RENDER_ALLOW: u32 = bindings::drm_ioctl_flags_DRM_RENDER_ALLOW;

/// `DRM_COMMAND_BASE`: the first driver-specific ioctl number.
pub(crate) const COMMAND_BASE: u32 = bindings::DRM_COMMAND_BASE;

/// A driver ioctl of driver `T`.
pub(crate) trait Ioctl<T: Driver> {
    /// The argument struct (from the uapi header).
    type Arg;
    /// Handles the ioctl; `arg` was copied from userspace and is copied back on success
    /// (for `_IOWR` ioctls). Returns the ioctl's non-negative return value.
    fn handle(dev: &Device<T>, arg: &mut Self::Arg, file: &File<T>) -> Result<u32>;
}

/// The number of an ioctl (its index in the driver's table is `nr - COMMAND_BASE`).
pub(crate) const fn nr(cmd: u32) -> u32 {
    cmd & 0xff
}

/// The argument size encoded in an ioctl number.
pub(crate) const fn arg_size(cmd: u32) -> usize {
    ((cmd >> 16) & 0x3fff) as usize
}

/// An unused table entry.
pub(crate) const EMPTY: bindings::drm_ioctl_desc = bindings::drm_ioctl_desc {
    cmd: 0,
    flags: 0,
    func: None,
    name: core::ptr::null(),
};

/// The table entry of ioctl `I`, command number `cmd` (the uapi header's `DRM_IOCTL_*`).
pub(crate) const fn desc<T: Driver, I: Ioctl<T>>(
    cmd: u32,
    flags: u32,
    name: &'static CStr,
) -> bindings::drm_ioctl_desc {
    assert!(nr(cmd) >= COMMAND_BASE, "not a driver ioctl");
    assert!(
        arg_size(cmd) == size_of::<I::Arg>(),
        "argument struct size differs from the ioctl number's"
    );
    bindings::drm_ioctl_desc {
        cmd,
        flags,
        func: Some(trampoline::<T, I>),
        name: name.as_char_ptr(),
    }
}

/// The C entry point of ioctl `I`.
///
/// # Safety
///
/// Called by `drm_ioctl` for a file of a device of driver `T`, with `data` pointing to a
/// kernel copy of the argument of `_IOC_SIZE(cmd)` bytes, exclusively ours for the call.
unsafe extern "C" fn trampoline<T: Driver, I: Ioctl<T>>(
    raw_dev: *mut bindings::drm_device,
    data: *mut c_void,
    raw_file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: By the function's safety requirements `raw_dev` is a device of driver `T`.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    // SAFETY: By the function's safety requirements `raw_file` is an open file of `dev`.
    let file = unsafe { File::<T>::from_raw(raw_file) };
    // SAFETY: `data` holds `_IOC_SIZE(cmd)` bytes, which `desc` checked equals the size of
    // `I::Arg` (a plain uapi struct, valid for any bytes); `drm_ioctl`'s buffer is suitably
    // aligned (a `kmalloc` buffer or a 16-byte aligned stack array on x86-64).
    let arg = unsafe { &mut *data.cast::<I::Arg>() };
    match I::handle(dev, arg, file) {
        Ok(v) => c_int::try_from(v).unwrap_or(c_int::MAX),
        Err(e) => e.to_errno(),
    }
}

/// Builds a driver's ioctl table: `drm_ioctls!(Driver; (cmd, Handler, flags, "NAME"), ...)`.
/// Entries land at index `nr(cmd) - COMMAND_BASE`; gaps stay empty; a duplicate number is a
/// compile-time error.
#[macro_export]
macro_rules! drm_ioctls {
    ($drv:ty; $( ($cmd:expr, $handler:ty, $flags:expr, $name:literal) ),* $(,)?) => {{
        const CMDS: &[u32] = &[$($cmd),*];
        const LEN: usize = {
            let mut max = 0;
            let mut i = 0;
            while i < CMDS.len() {
                let n = ($crate::drm::ioctl::nr(CMDS[i]) - $crate::drm::ioctl::COMMAND_BASE) as usize;
                if n + 1 > max {
                    max = n + 1;
                }
                i += 1;
            }
            max
        };
        const TABLE: [$crate::drm::ioctl::Desc; LEN] = {
            let mut t = [$crate::drm::ioctl::EMPTY; LEN];
            $(
                let i = ($crate::drm::ioctl::nr($cmd) - $crate::drm::ioctl::COMMAND_BASE) as usize;
                assert!(t[i].func.is_none(), "duplicate ioctl number");
                t[i] = $crate::drm::ioctl::desc::<$drv, $handler>(
                    $cmd,
                    $flags,
                    kernel::c_str!($name),
                );
            )*
            t
        };
        &TABLE
    }};
}

/// A table entry (`struct drm_ioctl_desc`).
pub(crate) type Desc = bindings::drm_ioctl_desc;
