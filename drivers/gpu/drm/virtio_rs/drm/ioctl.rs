// SPDX-License-Identifier: GPL-2.0

//! Driver ioctls: a safe handler trait and a table builder with compile-time checks.
//!
//! Each ioctl is a type implementing [`Ioctl`]; [`drm_ioctls!`](crate::drm_ioctls) turns a list
//! of them into the driver's `drm_ioctl_desc` table, whose C entry points are one generic
//! trampoline, so drivers write no `unsafe`. Soundness rests on types, not on comments:
//!
//! - [`Ioctl::Arg`] is bounded by [`FromBytes`] (any bytes userspace sends are a valid value)
//!   and [`AsBytes`] (no padding, so nothing uninitialised is copied back to userspace). A
//!   handler with `type Arg = [bool; 8]` or a struct holding a reference does not compile
//!   (`make check` proves it, see `tests/check.sh`).
//! - The argument size must equal the size encoded in the ioctl number (checked at compile
//!   time), which is what `drm_ioctl` copies in and out.
//! - `drm_ioctl` copies small arguments into `char stack_kdata[128]`, whose alignment only the
//!   x86-64 ABI guarantees: the trampoline copies the argument out and back with unaligned
//!   reads and writes instead of making a reference into that buffer.
//! - Each table entry's number and name come from one identifier (`VIRTGPU_MAP` gives
//!   `DRM_IOCTL_VIRTGPU_MAP` and the name `"VIRTGPU_MAP"`), as upstream's
//!   `declare_drm_ioctls!` does.
//!
//! C header: [`include/drm/drm_ioctl.h`](srctree/include/drm/drm_ioctl.h)

use core::mem::size_of;

use kernel::{
    ffi::{c_int, c_void},
    prelude::*,
    types::{AsBytes, FromBytes},
};

use super::{driver::Driver, Device, File};
use crate::glue::bindings;

/// `DRM_RENDER_ALLOW`: the ioctl may be used on render nodes.
pub(crate) const RENDER_ALLOW: u32 = bindings::drm_ioctl_flags_DRM_RENDER_ALLOW;

/// `DRM_COMMAND_BASE`: the first driver-specific ioctl number.
pub(crate) const COMMAND_BASE: u32 = bindings::DRM_COMMAND_BASE;

/// A driver ioctl of driver `T`.
pub(crate) trait Ioctl<T: Driver> {
    /// The argument struct (from the uapi header): valid for any bytes userspace sends and
    /// without padding bytes that would leak kernel memory when copied back.
    type Arg: FromBytes + AsBytes;
    /// Handles the ioctl; `arg` is a copy of what userspace passed, copied back to it when the
    /// handler returns (for `_IOWR` ioctls). Returns the ioctl's non-negative return value.
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
/// kernel copy of the argument of `_IOC_SIZE(cmd)` bytes (any alignment), exclusively ours
/// for the call.
unsafe extern "C" fn trampoline<T: Driver, I: Ioctl<T>>(
    raw_dev: *mut bindings::drm_device,
    data: *mut c_void,
    raw_file: *mut bindings::drm_file,
) -> c_int {
    // SAFETY: By the function's safety requirements `raw_dev` is a device of driver `T`.
    let dev = unsafe { Device::<T>::from_raw(raw_dev) };
    // SAFETY: By the function's safety requirements `raw_file` is an open file of `dev`.
    let file = unsafe { File::<T>::from_raw(raw_file) };
    let ptr = data.cast::<I::Arg>();
    // SAFETY: `data` holds `_IOC_SIZE(cmd)` readable bytes, which `desc` checked equals the
    // size of `I::Arg`; `I::Arg: FromBytes`, so any bytes are a valid value; the read makes
    // no assumption about alignment.
    let mut arg = unsafe { ptr.read_unaligned() };
    let ret = match I::handle(dev, &mut arg, file) {
        Ok(v) => c_int::try_from(v).unwrap_or(c_int::MAX),
        Err(e) => e.to_errno(),
    };
    // `drm_ioctl` copies the buffer back for `_IOC_READ` ioctls whatever the handler returned,
    // as C handlers edit it in place: so the copy goes back on every path.
    // SAFETY: `data` holds `size_of::<I::Arg>()` writable bytes, exclusively ours (as above);
    // `I::Arg: AsBytes`, so every byte userspace then gets is initialised; the write makes no
    // assumption about alignment.
    unsafe { ptr.write_unaligned(arg) };
    ret
}

/// Builds a driver's ioctl table:
/// `drm_ioctls!(Driver; (VIRTGPU_MAP, Handler, flags), ...)`.
///
/// The number is `DRM_IOCTL_<NAME>` (exported by `glue/bindings_helper.h` as
/// `RUST_CONST_HELPER_DRM_IOCTL_<NAME>`, since C defines it with a function-like macro) and the
/// table's name `"<NAME>"`, both from the one identifier. Entries land at index `nr(cmd) - COMMAND_BASE`; gaps stay empty;
/// a duplicate number, an argument size that differs from the number's or a number below
/// `DRM_COMMAND_BASE` is a compile-time error.
#[macro_export]
macro_rules! drm_ioctls {
    ($drv:ty; $( ($name:ident, $handler:ty, $flags:expr) ),* $(,)?) => {{
        kernel::macros::paste! {
            const CMDS: &[u32] = &[$($crate::glue::bindings::[<RUST_CONST_HELPER_DRM_IOCTL_ $name>]),*];
        }
        const LEN: usize = {
            let mut max = 0;
            let mut i = 0;
            while i < CMDS.len() {
                let n = $crate::drm::ioctl::nr(CMDS[i]);
                assert!(n >= $crate::drm::ioctl::COMMAND_BASE, "not a driver ioctl");
                let n = (n - $crate::drm::ioctl::COMMAND_BASE) as usize;
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
                kernel::macros::paste! {
                    let cmd = $crate::glue::bindings::[<RUST_CONST_HELPER_DRM_IOCTL_ $name>];
                }
                let i = ($crate::drm::ioctl::nr(cmd) - $crate::drm::ioctl::COMMAND_BASE) as usize;
                assert!(t[i].func.is_none(), "duplicate ioctl number");
                t[i] = $crate::drm::ioctl::desc::<$drv, $handler>(
                    cmd,
                    $flags,
                    kernel::c_str!(core::stringify!($name)),
                );
            )*
            t
        };
        &TABLE
    }};
}

/// A table entry (`struct drm_ioctl_desc`).
pub(crate) type Desc = bindings::drm_ioctl_desc;
