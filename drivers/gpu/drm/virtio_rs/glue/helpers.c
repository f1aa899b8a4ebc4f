// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of virtio_gpu_rs: out-of-line wrappers for static inlines and macros.
 *
 * Nearly everything here forwards to one kernel helper so that Rust can call it
 * through bindgen. A few functions do a little more, each documented: the page-range
 * walk (one call instead of one per page), and the huge-page mount and its use by an
 * object (what later kernels' DRM helpers do and 6.12's lack).
 */

#include <linux/dma-resv.h>
#include <drm/drm_atomic.h>
#include <drm/drm_crtc.h>
#include <drm/drm_connector.h>
#include <drm/drm_drv.h>
#include <drm/drm_managed.h>
#include <drm/drm_modeset_helper_vtables.h>
#include <drm/drm_plane.h>
#include <drm/drm_syncobj.h>
#include <drm/drm_vblank.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_ioctl.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/dma-fence-chain.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/scatterlist.h>
#include <linux/shmem_fs.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/workqueue.h>
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

void vgrs_init_work(struct work_struct *work, void (*func)(struct work_struct *work))
{
	INIT_WORK(work, func);
}

bool vgrs_schedule_work(struct work_struct *work)
{
	return schedule_work(work);
}

struct workqueue_struct *vgrs_alloc_workqueue(const char *name)
{
	return alloc_workqueue("%s", 0, 0, name);
}

void vgrs_init_completion(struct completion *x)
{
	init_completion(x);
}

/*
 * A device that stops answering: a waited-for command unanswered for this long resets the
 * device and fails every request in flight (virtio/virtqueue.rs, Wedge). The C driver waits
 * forever; QEMU under TCG with virgl can take seconds for a large submission queued ahead.
 */
static unsigned int cmd_timeout_ms = 20000;
module_param(cmd_timeout_ms, uint, 0644);
MODULE_PARM_DESC(cmd_timeout_ms, "reset the device when a waited-for command is not answered in this time (ms, 0: never)");

unsigned int vgrs_cmd_timeout_ms(void)
{
	return READ_ONCE(cmd_timeout_ms);
}

void vgrs_init_delayed_work(struct delayed_work *dwork, work_func_t fn)
{
	INIT_DELAYED_WORK(dwork, fn);
}

bool vgrs_schedule_delayed_work(struct delayed_work *dwork, unsigned long delay)
{
	return schedule_delayed_work(dwork, delay);
}

struct delayed_work *vgrs_to_delayed_work(struct work_struct *work)
{
	return to_delayed_work(work);
}

/*
 * Fault injection: the device's next N answers are dropped, as if it never gave them
 * (debugfs; shared by every device of the driver; the file is removed with the DRM device's
 * debugfs directory, the counter is static, so a write never outlives its storage).
 */
static atomic_t drop_responses = ATOMIC_INIT(0);

bool vgrs_take_dropped_response(void)
{
	return atomic_dec_if_positive(&drop_responses) >= 0;
}

void vgrs_debugfs_fault_init(struct drm_device *dev)
{
	debugfs_create_atomic_t("vgrs_drop_responses", 0600, dev->debugfs_root, &drop_responses);
}

#ifdef VGRS_DEBUG
/*
 * Debug builds only (make VGRS_DEBUG=1, used by make check-debug): delays every virtqueue
 * completion work run by this many milliseconds, so that a test can unbind and unload the
 * driver while completion work is still queued or running (the teardown must wait for it).
 */
static unsigned int completion_delay_ms;
module_param(completion_delay_ms, uint, 0644);
MODULE_PARM_DESC(completion_delay_ms, "debug: delay of each virtqueue completion work run (ms)");

unsigned int vgrs_debug_completion_delay_ms(void)
{
	return READ_ONCE(completion_delay_ms);
}
#endif

const struct file_operations vgrs_drm_gem_fops = {
	.owner = THIS_MODULE,
	DRM_GEM_FOPS,
};

void vgrs_drm_gem_object_get(struct drm_gem_object *obj)
{
	drm_gem_object_get(obj);
}

void vgrs_drm_gem_object_put(struct drm_gem_object *obj)
{
	drm_gem_object_put(obj);
}

void vgrs_gem_shmem_object_free(struct drm_gem_object *obj)
{
	drm_gem_shmem_object_free(obj);
}

void vgrs_gem_shmem_object_print_info(struct drm_printer *p, unsigned int indent,
				      const struct drm_gem_object *obj)
{
	drm_gem_shmem_object_print_info(p, indent, obj);
}

int vgrs_gem_shmem_object_pin(struct drm_gem_object *obj)
{
	return drm_gem_shmem_object_pin(obj);
}

void vgrs_gem_shmem_object_unpin(struct drm_gem_object *obj)
{
	drm_gem_shmem_object_unpin(obj);
}

struct sg_table *vgrs_gem_shmem_object_get_sg_table(struct drm_gem_object *obj)
{
	return drm_gem_shmem_object_get_sg_table(obj);
}

int vgrs_gem_shmem_object_vmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	return drm_gem_shmem_object_vmap(obj, map);
}

void vgrs_gem_shmem_object_vunmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	drm_gem_shmem_object_vunmap(obj, map);
}

int vgrs_gem_shmem_object_mmap(struct drm_gem_object *obj, struct vm_area_struct *vma)
{
	return drm_gem_shmem_object_mmap(obj, vma);
}

/**
 * vgrs_pages_to_ranges() - the physical ranges of an array of pages
 * @pages: the pages (pinned by the caller)
 * @n: how many
 * @out: where the ranges go
 * @max: room in @out, in ranges
 *
 * Pages that follow each other in physical memory merge into one range, of less than 4 GiB.
 * One call for the whole array: a call per page from Rust was 1000 calls for a 1280x800
 * dumb buffer.
 *
 * Return: the number of ranges; only the first @max of them are written, so a return above
 * @max asks for a call with that much room.
 */
size_t vgrs_pages_to_ranges(struct page **pages, size_t n, struct vgrs_mem_range *out,
			    size_t max)
{
	size_t i, count = 0;
	u64 start = 0, len = 0;

	for (i = 0; i < n; i++) {
		u64 addr = page_to_phys(pages[i]);

		if (len && addr == start + len && len + PAGE_SIZE <= U32_MAX) {
			len += PAGE_SIZE;
			continue;
		}
		if (len && count < max) {
			out[count].addr = start;
			out[count].len = len;
		}
		if (len)
			count++;
		start = addr;
		len = PAGE_SIZE;
	}
	if (len && count < max) {
		out[count].addr = start;
		out[count].len = len;
	}
	if (len)
		count++;
	return count;
}

/**
 * vgrs_huge_mount() - a tmpfs mount of the driver's own, with huge=within_size
 *
 * Files on it get a transparent huge page for each whole 2 MiB of their size that lies
 * within it (when the allocator has a free 2 MiB block at once; small pages otherwise), as
 * i915's gemfs does. The kernel's shm mount, where drm_gem_object_init() puts GEM objects,
 * follows the system-wide shmem_enabled setting, "never" by default.
 *
 * Return: the mount, or an ERR_PTR: -EOPNOTSUPP without CONFIG_TRANSPARENT_HUGEPAGE.
 */
struct vfsmount *vgrs_huge_mount(void)
{
	char opts[] = "huge=within_size"; /* parsed in place: writable */
	struct file_system_type *type;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		return ERR_PTR(-EOPNOTSUPP);
	/* tmpfs is built in: its module reference is none (put_filesystem is not exported). */
	type = get_fs_type("tmpfs");
	if (!type)
		return ERR_PTR(-ENODEV);
	return vfs_kern_mount(type, SB_KERNMOUNT, type->name, opts);
}

/* The size of a transparent huge page (0 without them). */
size_t vgrs_huge_page_size(void)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	return HPAGE_PMD_SIZE;
#else
	return 0;
#endif
}

void vgrs_huge_unmount(struct vfsmount *mnt)
{
	kern_unmount(mnt);
}

/**
 * vgrs_gem_shmem_use_mount() - gives a new shmem object a file on @mnt
 * @shmem: an object just made by drm_gem_shmem_create(), not yet seen by anyone: no pages,
 *         no mapping, no handle
 * @mnt: the mount
 *
 * The file drm_gem_shmem_create() made on the kernel's shm mount is replaced by one of the
 * same size on @mnt, with the page flags __drm_gem_shmem_create() gives its file: what
 * drm_gem_object_init_with_mnt() does in later kernels (6.12's shmem helpers take no mount).
 *
 * Return: 0, or a negative errno (the object keeps its first file).
 */
int vgrs_gem_shmem_use_mount(struct drm_gem_shmem_object *shmem, struct vfsmount *mnt)
{
	struct drm_gem_object *obj = &shmem->base;
	struct file *filp;

	filp = shmem_file_setup_with_mnt(mnt, "drm mm object", obj->size, VM_NORESERVE);
	if (IS_ERR(filp))
		return PTR_ERR(filp);
	/* Pinned pages must not come from ZONE_MOVABLE (see __drm_gem_shmem_create()). */
	mapping_set_gfp_mask(filp->f_mapping, GFP_HIGHUSER | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	fput(obj->filp);
	obj->filp = filp;
	return 0;
}

int vgrs_dma_resv_lock_interruptible(struct dma_resv *obj)
{
	return dma_resv_lock_interruptible(obj, NULL);
}

void vgrs_dma_resv_unlock(struct dma_resv *obj)
{
	dma_resv_unlock(obj);
}

u64 vgrs_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

unsigned int vgrs_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

void *vgrs_drmm_kzalloc(struct drm_device *dev, size_t size)
{
	return drmm_kzalloc(dev, size, GFP_KERNEL);
}

void vgrs_drm_crtc_helper_add(struct drm_crtc *crtc, const struct drm_crtc_helper_funcs *funcs)
{
	drm_crtc_helper_add(crtc, funcs);
}

void vgrs_drm_plane_helper_add(struct drm_plane *plane,
			       const struct drm_plane_helper_funcs *funcs)
{
	drm_plane_helper_add(plane, funcs);
}

void vgrs_drm_connector_helper_add(struct drm_connector *connector,
				   const struct drm_connector_helper_funcs *funcs)
{
	drm_connector_helper_add(connector, funcs);
}

struct drm_plane_state *vgrs_drm_atomic_get_old_plane_state(const struct drm_atomic_state *state,
							    struct drm_plane *plane)
{
	return drm_atomic_get_old_plane_state(state, plane);
}

struct drm_plane_state *vgrs_drm_atomic_get_new_plane_state(const struct drm_atomic_state *state,
							    struct drm_plane *plane)
{
	return drm_atomic_get_new_plane_state(state, plane);
}

struct drm_crtc_state *vgrs_drm_atomic_get_new_crtc_state(const struct drm_atomic_state *state,
							  struct drm_crtc *crtc)
{
	return drm_atomic_get_new_crtc_state(state, crtc);
}

/*
 * Before a commit turns a CRTC off or sets a new mode on it: waits for the CRTC's next
 * vblank (at most 100 ms; no WARN on timeout, unlike drm_crtc_wait_one_vblank), as a display
 * controller scans out until then. The C loop because for_each_oldnew_crtc_in_state is a
 * macro.
 */
void vgrs_atomic_wait_vblank_before_disables(struct drm_atomic_state *state)
{
	struct drm_crtc_state *old_state, *new_state;
	struct drm_crtc *crtc;
	int i;

	for_each_oldnew_crtc_in_state(state, crtc, old_state, new_state, i) {
		struct drm_vblank_crtc *vblank;
		u64 last;

		if (!old_state->active || !drm_atomic_crtc_needs_modeset(new_state))
			continue;
		if (drm_crtc_vblank_get(crtc))
			continue;
		vblank = drm_crtc_vblank_crtc(crtc);
		last = drm_crtc_vblank_count(crtc);
		wait_event_timeout(vblank->queue, last != drm_crtc_vblank_count(crtc),
				   msecs_to_jiffies(100));
		drm_crtc_vblank_put(crtc);
	}
}

bool vgrs_drm_atomic_crtc_needs_modeset(const struct drm_crtc_state *state)
{
	return drm_atomic_crtc_needs_modeset(state);
}

/*
 * drm_mode_config_reset() returns nothing: an object whose reset could not allocate its
 * state is left without one, and the first commit or fbdev damage flush that reaches it
 * dereferences NULL (found by the debug kernel's probe sweep: drm_atomic_helper_dirtyfb in
 * the fbdev damage worker). Resets, then -ENOMEM if any plane, CRTC or connector has no state.
 */
int vgrs_drm_mode_config_reset_checked(struct drm_device *dev)
{
	struct drm_connector_list_iter iter;
	struct drm_connector *connector;
	struct drm_plane *plane;
	struct drm_crtc *crtc;
	int ret = 0;

	drm_mode_config_reset(dev);
	drm_for_each_plane(plane, dev)
		if (!plane->state)
			ret = -ENOMEM;
	drm_for_each_crtc(crtc, dev)
		if (!crtc->state)
			ret = -ENOMEM;
	drm_connector_list_iter_begin(dev, &iter);
	drm_for_each_connector_iter(connector, &iter)
		if (!connector->state)
			ret = -ENOMEM;
	drm_connector_list_iter_end(&iter);
	return ret;
}

int vgrs_drmm_add_action_or_reset(struct drm_device *dev,
				  void (*action)(struct drm_device *dev, void *data), void *data)
{
	return drmm_add_action_or_reset(dev, action, data);
}

/* Relative to now, in the mode the timer was initialised with (HRTIMER_MODE_REL). */
void vgrs_hrtimer_start(struct hrtimer *timer, s64 tim)
{
	hrtimer_start(timer, tim, HRTIMER_MODE_REL);
}

u64 vgrs_hrtimer_forward_now(struct hrtimer *timer, s64 interval)
{
	return hrtimer_forward_now(timer, interval);
}

/* READ_ONCE: read from the CRTC's timestamp callback while the timer callback may forward it. */
s64 vgrs_hrtimer_get_expires(const struct hrtimer *timer)
{
	return READ_ONCE(timer->node.expires);
}

void vgrs_spin_lock_irq(struct spinlock *lock)
{
	spin_lock_irq(lock);
}

void vgrs_spin_unlock_irq(struct spinlock *lock)
{
	spin_unlock_irq(lock);
}

void vgrs_spin_lock_init(struct spinlock *lock)
{
	spin_lock_init(lock);
}

bool vgrs_spin_trylock(struct spinlock *lock)
{
	return spin_trylock(lock);
}

void vgrs_udelay(unsigned long usecs)
{
	udelay(usecs);
}

struct dma_fence *vgrs_dma_fence_get(struct dma_fence *fence)
{
	return dma_fence_get(fence);
}

void vgrs_dma_fence_put(struct dma_fence *fence)
{
	dma_fence_put(fence);
}

bool vgrs_dma_fence_is_signaled(struct dma_fence *fence)
{
	return dma_fence_is_signaled(fence);
}

void vgrs_dma_fence_set_error(struct dma_fence *fence, int error)
{
	dma_fence_set_error(fence, error);
}

/* A lockdep class of its own for the fences' locks. */
void vgrs_fence_lock_init(struct spinlock *lock)
{
	spin_lock_init(lock);
}

/* THIS_MODULE is this module here: the glue is linked into it. */
void vgrs_module_get(void)
{
	__module_get(THIS_MODULE);
}

void vgrs_module_put(void)
{
	module_put(THIS_MODULE);
}

void vgrs_drm_syncobj_put(struct drm_syncobj *obj)
{
	drm_syncobj_put(obj);
}

struct dma_fence_chain *vgrs_dma_fence_chain_alloc(void)
{
	return dma_fence_chain_alloc();
}

void vgrs_dma_fence_chain_free(struct dma_fence_chain *chain)
{
	dma_fence_chain_free(chain);
}
