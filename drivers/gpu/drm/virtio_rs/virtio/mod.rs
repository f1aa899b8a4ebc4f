// SPDX-License-Identifier: GPL-2.0

//! Virtio driver abstractions: driver registration, bound devices, configuration space.
//!
//! C headers: [`include/linux/virtio.h`](srctree/include/linux/virtio.h),
//! [`include/linux/virtio_config.h`](srctree/include/linux/virtio_config.h)

mod device;
mod driver;
mod spin;
mod virtqueue;

pub(crate) use device::Device;
pub(crate) use driver::{Driver, Registration};
pub(crate) use virtqueue::{
    Batch, Check, Finish, Forget, Handled, Handler, Owned, Queue, Queues, Reply, Wait,
};
