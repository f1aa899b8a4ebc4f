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

int vgrs_virtio_find_vqs(struct virtio_device *vdev, unsigned int nvqs,
			 struct virtqueue *vqs[], struct virtqueue_info vqs_info[])
{
	return virtio_find_vqs(vdev, nvqs, vqs, vqs_info, NULL);
}

void vgrs_virtio_del_vqs(struct virtio_device *vdev)
{
	vdev->config->del_vqs(vdev);
}

bool vgrs_virtio_has_dma_quirk(const struct virtio_device *vdev)
{
	return virtio_has_dma_quirk(vdev);
}
