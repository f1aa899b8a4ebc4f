// SPDX-License-Identifier: GPL-2.0

//! C glue: the module-local bindings, the uapi structs as plain data ([`uapi`]), and
//! compile-time checks that the device core's own definitions of the virtio-gpu protocol
//! agree with the kernel's C headers: feature bits and config space offsets, every wire
//! struct's size and field offsets, the page size and the scanout limit.
//!
//! C header: [`include/uapi/linux/virtio_gpu.h`](srctree/include/uapi/linux/virtio_gpu.h)

pub(crate) mod bindings;
pub(crate) mod uapi;

use crate::gpu::config;

// The device core cannot see the bindings (it compiles on the host too), so the constants it
// defines from the virtio-gpu specification are checked against the C headers here.
const _: () = {
    assert!(config::VIRTIO_ID_GPU == bindings::VIRTIO_ID_GPU);
    assert!(config::F_VIRGL == bindings::VIRTIO_GPU_F_VIRGL);
    assert!(config::F_EDID == bindings::VIRTIO_GPU_F_EDID);
    assert!(config::F_RESOURCE_UUID == bindings::VIRTIO_GPU_F_RESOURCE_UUID);
    assert!(config::F_RESOURCE_BLOB == bindings::VIRTIO_GPU_F_RESOURCE_BLOB);
    assert!(config::F_CONTEXT_INIT == bindings::VIRTIO_GPU_F_CONTEXT_INIT);
    assert!(config::CONFIG_SIZE as usize == core::mem::size_of::<bindings::virtio_gpu_config>());
    assert!(
        config::EVENTS_READ as usize
            == core::mem::offset_of!(bindings::virtio_gpu_config, events_read)
    );
    assert!(
        config::EVENTS_CLEAR as usize
            == core::mem::offset_of!(bindings::virtio_gpu_config, events_clear)
    );
    assert!(
        config::NUM_SCANOUTS as usize
            == core::mem::offset_of!(bindings::virtio_gpu_config, num_scanouts)
    );
    assert!(
        config::NUM_CAPSETS as usize
            == core::mem::offset_of!(bindings::virtio_gpu_config, num_capsets)
    );
};

// One source for each fact: the device core's page size and scanout limit are the kernel's
// and the specification's.
const _: () = {
    assert!(crate::gpu::dumb::PAGE_SIZE == bindings::PAGE_SIZE as u64);
    assert!(config::MAX_SCANOUTS as usize == protocol::MAX_SCANOUTS);
    assert!(protocol::MAX_SCANOUTS == bindings::VIRTIO_GPU_MAX_SCANOUTS as usize);
};

use crate::gpu::protocol;
use core::mem::{offset_of, size_of};

/// `same_layout!(Ours = c_struct { field, ... })`: the device core's wire struct `Ours` has
/// the size of the C header's `c_struct`, and each listed field (all of them) its offset.
macro_rules! same_layout {
    ($($ours:ident = $c:ident { $($f:ident),* $(,)? })*) => {$(
        const _: () = {
            assert!(
                size_of::<protocol::$ours>() == size_of::<bindings::$c>(),
                concat!("protocol::", stringify!($ours), " differs in size from ", stringify!($c))
            );
            $(
                assert!(
                    offset_of!(protocol::$ours, $f) == offset_of!(bindings::$c, $f),
                    concat!(stringify!($ours), ".", stringify!($f), ": offset differs from C")
                );
            )*
        };
    )*};
}

same_layout! {
    CtrlHdr = virtio_gpu_ctrl_hdr { type_, flags, fence_id, ctx_id, ring_idx, padding }
    Rect = virtio_gpu_rect { x, y, width, height }
    GetDisplayInfo = virtio_gpu_ctrl_hdr {}
    ResourceCreate2d = virtio_gpu_resource_create_2d { hdr, resource_id, format, width, height }
    ResourceUnref = virtio_gpu_resource_unref { hdr, resource_id, padding }
    SetScanout = virtio_gpu_set_scanout { hdr, r, scanout_id, resource_id }
    ResourceFlush = virtio_gpu_resource_flush { hdr, r, resource_id, padding }
    TransferToHost2d = virtio_gpu_transfer_to_host_2d { hdr, r, offset, resource_id, padding }
    ResourceAttachBacking = virtio_gpu_resource_attach_backing { hdr, resource_id, nr_entries }
    ResourceDetachBacking = virtio_gpu_resource_detach_backing { hdr, resource_id, padding }
    GetEdid = virtio_gpu_cmd_get_edid { hdr, scanout, padding }
    MemEntry = virtio_gpu_mem_entry { addr, length, padding }
    CursorPos = virtio_gpu_cursor_pos { scanout_id, x, y, padding }
    UpdateCursor = virtio_gpu_update_cursor { hdr, pos, resource_id, hot_x, hot_y, padding }
    DisplayOne = virtio_gpu_resp_display_info_virtio_gpu_display_one { r, enabled, flags }
    RespDisplayInfo = virtio_gpu_resp_display_info { hdr, pmodes }
    RespEdid = virtio_gpu_resp_edid { hdr, size, padding, edid }
    Box3d = virtio_gpu_box { x, y, z, w, h, d }
    GetCapsetInfo = virtio_gpu_get_capset_info { hdr, capset_index, padding }
    GetCapset = virtio_gpu_get_capset { hdr, capset_id, capset_version }
    RespCapsetInfo = virtio_gpu_resp_capset_info {
        hdr, capset_id, capset_max_version, capset_max_size, padding
    }
    CtxCreate = virtio_gpu_ctx_create { hdr, nlen, context_init, debug_name }
    CtxDestroy = virtio_gpu_ctx_destroy { hdr }
    CtxAttachResource = virtio_gpu_ctx_resource { hdr, resource_id, padding }
    CtxDetachResource = virtio_gpu_ctx_resource { hdr, resource_id, padding }
    ResourceCreate3d = virtio_gpu_resource_create_3d {
        hdr, resource_id, target, format, bind, width, height, depth, array_size, last_level,
        nr_samples, flags, padding
    }
    TransferToHost3d = virtio_gpu_transfer_host_3d {
        hdr, box_, offset, resource_id, level, stride, layer_stride
    }
    TransferFromHost3d = virtio_gpu_transfer_host_3d {
        hdr, box_, offset, resource_id, level, stride, layer_stride
    }
    Submit3d = virtio_gpu_cmd_submit { hdr, size, padding }
}

/// Errnos the driver returns that the 6.12 `kernel` crate does not name.
pub(crate) mod errno {
    use kernel::error::Error;

    use super::bindings;

    /// `ENOSYS`: the function is not implemented (the C driver's answer to 3D ioctls
    /// without 3D).
    pub(crate) fn enosys() -> Error {
        Error::from_errno(-(bindings::ENOSYS as i32))
    }

    /// `ECANCELED`: what a fence dropped unsignalled signals with.
    pub(crate) fn ecanceled() -> Error {
        Error::from_errno(-(bindings::ECANCELED as i32))
    }

    /// `ETIMEDOUT`: the device did not answer in time.
    pub(crate) fn etimedout() -> Error {
        Error::from_errno(-(bindings::ETIMEDOUT as i32))
    }
}

/// The name of the calling task (`current->comm`, at most 15 bytes), NUL-padded: what the C
/// driver names a 3D context after.
pub(crate) fn current_comm() -> [u8; 16] {
    let mut buf = [0u8; 16];
    // SAFETY: `get_current` has no requirements; its task is valid while it runs, which
    // covers this call.
    let task = unsafe { kernel::bindings::get_current() };
    // SAFETY: `task` is the running task (valid, above); `buf` has room for the 16 bytes
    // `__get_task_comm` may write (it NUL-terminates within `len`).
    unsafe { kernel::bindings::__get_task_comm(buf.as_mut_ptr().cast(), buf.len(), task) };
    buf
}
