// SPDX-License-Identifier: GPL-2.0

//! C glue: the module-local bindings and compile-time checks that the device core's own
//! definitions of the virtio-gpu protocol agree with the kernel's C headers.
//!
//! C header: [`include/uapi/linux/virtio_gpu.h`](srctree/include/uapi/linux/virtio_gpu.h)

pub(crate) mod bindings;

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
