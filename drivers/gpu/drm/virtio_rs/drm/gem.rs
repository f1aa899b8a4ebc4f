// SPDX-License-Identifier: GPL-2.0

//! GEM objects backed by shmem pages (`drm_gem_shmem_object`) with per-object driver data.
//!
//! C header: [`include/drm/drm_gem_shmem_helper.h`](srctree/include/drm/drm_gem_shmem_helper.h)

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    error::{from_err_ptr, to_result},
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

use super::{driver::Driver, Device, File};
use crate::glue::bindings;

/// A shmem GEM object of driver `T`.
///
/// # Invariants
///
/// - Allocated (with `kmalloc`, by `KBox`) by [`create_object_callback`] for a device of
///   driver `T`, `base` first so that the allocation starts with the `drm_gem_shmem_object`,
///   and with `base.base.funcs` set to [`Object::FUNCS`].
/// - Valid while a reference is held (`ARef` or a DRM callback's argument); freed by
///   [`free_callback`] when the GEM refcount drops to zero.
#[repr(C)]
pub(crate) struct Object<T: Driver> {
    base: Opaque<bindings::drm_gem_shmem_object>,
    data: T::Object,
    _p: PhantomData<T>,
}

/// One contiguous range of an object's backing memory, as the device addresses it.
#[derive(Clone, Copy)]
pub(crate) struct MemRange {
    /// Guest physical or DMA address.
    pub(crate) addr: u64,
    /// Length in bytes.
    pub(crate) len: u32,
}

impl<T: Driver> Object<T> {
    /// The GEM functions of our objects: the shmem helpers, with our own `free`.
    const FUNCS: bindings::drm_gem_object_funcs = bindings::drm_gem_object_funcs {
        free: Some(free_callback::<T>),
        open: None,
        close: None,
        print_info: Some(bindings::vgrs_gem_shmem_object_print_info),
        export: None,
        pin: Some(bindings::vgrs_gem_shmem_object_pin),
        unpin: Some(bindings::vgrs_gem_shmem_object_unpin),
        get_sg_table: Some(bindings::vgrs_gem_shmem_object_get_sg_table),
        vmap: Some(bindings::vgrs_gem_shmem_object_vmap),
        vunmap: Some(bindings::vgrs_gem_shmem_object_vunmap),
        mmap: Some(bindings::vgrs_gem_shmem_object_mmap),
        evict: None,
        status: None,
        rss: None,
        vm_ops: &raw const bindings::drm_gem_shmem_vm_ops,
    };

    /// Allocates an object of `size` bytes (rounded up to pages) on `dev`.
    pub(crate) fn new(dev: &Device<T>, size: usize) -> Result<ARef<Self>> {
        // SAFETY: `dev` is a valid device of driver `T`, whose `gem_create_object` callback
        // allocates an `Object<T>`.
        let shmem = from_err_ptr(unsafe { bindings::drm_gem_shmem_create(dev.as_raw(), size) })?;
        // INVARIANT: `drm_gem_shmem_create` called `create_object_callback::<T>`.
        // SAFETY: The object starts with its `drm_gem_shmem_object` (`repr(C)`, first field);
        // the initial reference from the creation is handed to the `ARef`.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(shmem.cast())) })
    }

    /// Looks up the object behind `handle` in `file`; `ENOENT` if there is none or it is not
    /// one of ours (e.g. an imported buffer).
    pub(crate) fn lookup(file: &File<T>, handle: u32) -> Result<ARef<Self>> {
        // SAFETY: `file` is a valid open file.
        let obj = unsafe { bindings::drm_gem_object_lookup(file.as_raw(), handle) };
        let obj = NonNull::new(obj).ok_or(ENOENT)?;
        // SAFETY: `obj` is a valid GEM object: the lookup returned it with a reference.
        let funcs = unsafe { (*obj.as_ptr()).funcs };
        if !core::ptr::eq(funcs, &Self::FUNCS) {
            // SAFETY: We own the reference the lookup took.
            unsafe { bindings::vgrs_drm_gem_object_put(obj.as_ptr()) };
            return Err(ENOENT);
        }
        // SAFETY: Our `FUNCS` means `create_object_callback::<T>` allocated it, so it is an
        // `Object<T>`; the reference from the lookup goes to the `ARef`.
        Ok(unsafe { ARef::from_raw(obj.cast()) })
    }

    /// The object behind `obj` if it is one of driver `T`'s (its functions are ours), else
    /// `None` (also for a null pointer).
    ///
    /// # Safety
    ///
    /// `obj` must be null or a valid GEM object that stays referenced for `'a`.
    pub(crate) unsafe fn from_raw_checked<'a>(
        obj: *mut bindings::drm_gem_object,
    ) -> Option<&'a Self> {
        if obj.is_null() {
            return None;
        }
        // SAFETY: By the safety requirements `obj` is valid; `funcs` is set at creation.
        let funcs = unsafe { (*obj).funcs };
        if !core::ptr::eq(funcs, &Self::FUNCS) {
            return None;
        }
        // SAFETY: Our `FUNCS` means `create_object_callback::<T>` allocated it, so it is an
        // `Object<T>` (which starts with its GEM object), referenced for `'a`.
        Some(unsafe { &*obj.cast::<Self>() })
    }

    fn gem(&self) -> *mut bindings::drm_gem_object {
        // SAFETY: `base` is valid (type invariant); taking a field address stays in bounds.
        unsafe { core::ptr::addr_of_mut!((*self.base.get()).base) }
    }

    /// Size in bytes (a multiple of the page size).
    pub(crate) fn size(&self) -> usize {
        // SAFETY: The object is valid (type invariant); `size` is set at creation and then
        // never changes.
        unsafe { (*self.gem()).size }
    }

    /// The driver's data.
    pub(crate) fn data(&self) -> &T::Object {
        &self.data
    }

    /// Creates a handle for the object in `file`.
    pub(crate) fn create_handle(&self, file: &File<T>) -> Result<u32> {
        let mut handle = 0u32;
        // SAFETY: The object and the file are valid; `handle` is a valid place. The handle
        // takes its own reference.
        to_result(unsafe {
            bindings::drm_gem_handle_create(file.as_raw(), self.gem(), &mut handle)
        })?;
        Ok(handle)
    }

    /// Pins the backing pages (allocating them if needed) and returns their address ranges:
    /// guest physical addresses if `dma` is false (a device bypassing the DMA API), else DMA
    /// addresses. The pages stay pinned until the object is freed.
    pub(crate) fn backing(&self, dma: bool) -> Result<KVec<MemRange>> {
        // SAFETY: The object is a valid shmem object (type invariant).
        let sgt = from_err_ptr(unsafe { bindings::drm_gem_shmem_get_pages_sgt(self.base.get()) })?;
        // SAFETY: `sgt` is the object's valid sg table, kept until the object is freed.
        let (mut sg, n) = unsafe {
            let t = &*sgt;
            (t.sgl, if dma { t.nents } else { t.orig_nents })
        };
        let mut out = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for _ in 0..n {
            if sg.is_null() {
                return Err(EINVAL);
            }
            let range = if dma {
                MemRange {
                    // SAFETY: `sg` is an entry of the mapped table (`n` counted, non-null).
                    addr: unsafe { bindings::vgrs_sg_dma_address(sg) },
                    // SAFETY: As above.
                    len: unsafe { bindings::vgrs_sg_dma_len(sg) },
                }
            } else {
                MemRange {
                    // SAFETY: As above.
                    addr: unsafe { bindings::vgrs_sg_phys(sg) },
                    // SAFETY: As above.
                    len: unsafe { (*sg).length },
                }
            };
            out.push(range, GFP_KERNEL)?;
            // SAFETY: `sg` is a valid entry; `sg_next` follows chain links and returns null at
            // the end.
            sg = unsafe { bindings::sg_next(sg) };
        }
        Ok(out)
    }

    /// The fake mmap offset of the object (for `mmap` on the DRM file), created if needed.
    pub(crate) fn mmap_offset(&self) -> Result<u64> {
        // SAFETY: The object is valid.
        to_result(unsafe { bindings::drm_gem_create_mmap_offset(self.gem()) })?;
        // SAFETY: The object is valid and its offset node was just set up.
        let start = unsafe { (*self.gem()).vma_node.vm_node.start };
        Ok(start << bindings::PAGE_SHIFT)
    }
}

// SAFETY: The reference count is the GEM object's own.
unsafe impl<T: Driver> AlwaysRefCounted for Object<T> {
    fn inc_ref(&self) {
        // SAFETY: The object is valid and we hold a reference.
        unsafe { bindings::vgrs_drm_gem_object_get(self.gem()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `obj` is valid and the caller gives up its reference; an `Object<T>` starts
        // with its `drm_gem_object` (`repr(C)` first fields).
        unsafe { bindings::vgrs_drm_gem_object_put(obj.cast().as_ptr()) };
    }
}

// SAFETY: GEM objects are refcounted and freed from any thread; `T::Object: Send + Sync`.
unsafe impl<T: Driver> Send for Object<T> {}

// SAFETY: Shared references only read immutable fields or `T::Object: Sync`.
unsafe impl<T: Driver> Sync for Object<T> {}

/// `drm_driver.gem_create_object`: allocates an [`Object<T>`] for the shmem helper.
///
/// # Safety
///
/// Called by `drm_gem_shmem_create` for a device of driver `T`.
pub(super) unsafe extern "C" fn create_object_callback<T: Driver>(
    _dev: *mut bindings::drm_device,
    _size: usize,
) -> *mut bindings::drm_gem_object {
    let obj = Object::<T> {
        // The shmem helper expects a zeroed object (the C drivers use `kzalloc`).
        base: Opaque::new(bindings::drm_gem_shmem_object::default()),
        data: T::Object::default(),
        _p: PhantomData,
    };
    let Ok(obj) = KBox::new(obj, GFP_KERNEL) else {
        return ENOMEM.to_ptr();
    };
    let obj = KBox::into_raw(obj);
    // SAFETY: `obj` is a valid, exclusively owned allocation; `funcs` is a field of its
    // embedded GEM object.
    unsafe { (*(*obj).base.get()).base.funcs = &Object::<T>::FUNCS };
    // INVARIANT: allocated by `KBox` with `base` first and our `FUNCS`. From here on the
    // shmem helper owns the allocation and frees it with `kfree` in `drm_gem_shmem_free`.
    // SAFETY: `base` is the first field of a valid allocation.
    unsafe { core::ptr::addr_of_mut!((*(*obj).base.get()).base) }
}

/// `drm_gem_object_funcs.free`: the last reference is gone.
///
/// # Safety
///
/// Called by GEM once, for an [`Object<T>`], with no references left.
unsafe extern "C" fn free_callback<T: Driver>(gem: *mut bindings::drm_gem_object) {
    let obj = gem.cast::<Object<T>>();
    // SAFETY: By the function's safety requirements `gem` is the start of an `Object<T>`
    // (type invariant), valid until freed below, with no other users.
    let o = unsafe { &*obj };
    // SAFETY: The object's device is valid: GEM objects are freed before their device.
    let dev = unsafe { Device::<T>::from_raw((*gem).dev) };
    T::free_object(dev, o);
    // SAFETY: `data` is initialised and never used again; the allocation itself is freed by
    // the shmem helper below, so the field is dropped in place.
    unsafe { core::ptr::drop_in_place(core::ptr::addr_of_mut!((*obj).data)) };
    // SAFETY: The object is a shmem object allocated with `kmalloc` (type invariant); this
    // releases its pages and GEM state and `kfree`s the allocation, which starts at `base`.
    unsafe { bindings::drm_gem_shmem_free((*obj).base.get()) };
}
