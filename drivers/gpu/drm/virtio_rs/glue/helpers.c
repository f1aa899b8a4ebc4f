// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of virtio_gpu_rs: out-of-line wrappers for static inlines and macros.
 *
 * Nothing here has behaviour of its own: each function forwards to one kernel
 * helper so that Rust can call it through bindgen.
 */

#include <linux/device.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <virtio_gpu_rs/helpers.h>

int vgrs_register_virtio_driver(struct virtio_driver *drv, struct module *owner)
{
	return __register_virtio_driver(drv, owner);
}

bool vgrs_virtio_has_feature(const struct virtio_device *vdev, unsigned int fbit)
{
	return virtio_has_feature(vdev, fbit);
}

u32 vgrs_virtio_cread32(struct virtio_device *vdev, unsigned int offset)
{
	return virtio_cread32(vdev, offset);
}

void vgrs_virtio_cwrite32(struct virtio_device *vdev, unsigned int offset, u32 val)
{
	virtio_cwrite32(vdev, offset, val);
}

void vgrs_virtio_device_ready(struct virtio_device *vdev)
{
	virtio_device_ready(vdev);
}

const char *vgrs_dev_name(const struct device *dev)
{
	return dev_name(dev);
}
