// SPDX-License-Identifier: GPL-2.0

//! The uapi structs and ioctl numbers the driver handles (what upstream keeps in the `uapi`
//! crate), so the device core needs no `bindings::`.
//!
//! Every struct here is plain data that ioctls copy from and to userspace. Each is declared
//! [`FromBytes`] and [`AsBytes`] by [`uapi_pod!`], which checks at compile time that the listed
//! fields are all of the struct, in order, with no padding before, between or after them, and
//! that each field's type is itself [`FromBytes`] and [`AsBytes`]: a uapi change that adds
//! padding or a field stops the build instead of leaking kernel bytes.
//!
//! C headers: [`include/uapi/drm/drm_mode.h`](srctree/include/uapi/drm/drm_mode.h),
//! [`include/uapi/drm/virtgpu_drm.h`](srctree/include/uapi/drm/virtgpu_drm.h)

use core::mem::{offset_of, size_of};

use kernel::types::{AsBytes, FromBytes};

use super::bindings;

pub(crate) use bindings::{
    drm_mode_create_dumb, drm_virtgpu_3d_box, drm_virtgpu_3d_transfer_from_host,
    drm_virtgpu_3d_transfer_to_host, drm_virtgpu_3d_wait, drm_virtgpu_context_init,
    drm_virtgpu_execbuffer, drm_virtgpu_get_caps, drm_virtgpu_getparam, drm_virtgpu_map,
    drm_virtgpu_resource_create, drm_virtgpu_resource_create_blob, drm_virtgpu_resource_info,
};

/// The size of the field `f` selects, for [`uapi_pod!`]'s padding check; compiles only for
/// fields that are [`FromBytes`] and [`AsBytes`] themselves.
const fn field_size<T, F: FromBytes + AsBytes>(_f: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

/// `uapi_pod!(name { field, ... })`: implements [`FromBytes`] and [`AsBytes`] for the uapi
/// struct `name`, after checking at compile time that `field, ...` are all of its fields, in
/// memory order, each [`FromBytes`] + [`AsBytes`], with no padding anywhere.
macro_rules! uapi_pod {
    ($($t:ident { $($f:ident),* $(,)? })*) => {$(
        const _: () = {
            let mut end = 0;
            $(
                assert!(
                    offset_of!($t, $f) == end,
                    concat!(stringify!($t), ".", stringify!($f), ": padding before or out of order")
                );
                end += field_size::<$t, _>(|s| &s.$f);
            )*
            assert!(
                end == size_of::<$t>(),
                concat!(stringify!($t), ": padding at the end or a field not listed")
            );
        };
        // SAFETY: Checked just above: the listed fields cover the whole struct without
        // padding, and each is `FromBytes` (any bytes valid) and `AsBytes` (no uninitialised
        // bytes). So any bytes make a valid value and every byte of a value is initialised.
        // The struct is plain data (no interior mutability).
        unsafe impl FromBytes for bindings::$t {}
        // SAFETY: As above.
        unsafe impl AsBytes for bindings::$t {}
    )*};
}

uapi_pod! {
    drm_mode_create_dumb { height, width, bpp, flags, handle, pitch, size }
    drm_virtgpu_map { offset, handle, pad }
    drm_virtgpu_execbuffer {
        flags, size, command, bo_handles, num_bo_handles, fence_fd, ring_idx, syncobj_stride,
        num_in_syncobjs, num_out_syncobjs, in_syncobjs, out_syncobjs,
    }
    drm_virtgpu_getparam { param, value }
    drm_virtgpu_resource_create {
        target, format, bind, width, height, depth, array_size, last_level, nr_samples, flags,
        bo_handle, res_handle, size, stride,
    }
    drm_virtgpu_resource_info { bo_handle, res_handle, size, blob_mem }
    drm_virtgpu_3d_box { x, y, z, w, h, d }
    drm_virtgpu_3d_transfer_to_host { bo_handle, box_, level, offset, stride, layer_stride }
    drm_virtgpu_3d_transfer_from_host { bo_handle, box_, level, offset, stride, layer_stride }
    drm_virtgpu_3d_wait { handle, flags }
    drm_virtgpu_get_caps { cap_set_id, cap_set_ver, addr, size, pad }
    drm_virtgpu_resource_create_blob {
        blob_mem, blob_flags, bo_handle, res_handle, size, pad, cmd_size, cmd, blob_id,
    }
    drm_virtgpu_context_init { num_params, pad, ctx_set_params }
}
