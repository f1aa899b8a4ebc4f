// SPDX-License-Identifier: GPL-2.0

//! GEM objects backed by shmem pages (`drm_gem_shmem_object`) with per-object driver data.
//!
//! Creation goes through `drm_gem_shmem_create`, which calls the driver's `gem_create_object`
//! ([`create_object_callback`]) for the allocation and then initialises the shmem part; the
//! driver data is built in place right after, while the object is still private to
//! [`Object::new`]. A flag records whether it was built, so an object whose data failed to
//! initialise is released without dropping it.
//!
//! C header: [`include/drm/drm_gem_shmem_helper.h`](srctree/include/drm/drm_gem_shmem_helper.h)

use core::{
    cell::UnsafeCell,
    mem::MaybeUninit,
    ptr::NonNull,
    sync::atomic::{AtomicBool, AtomicPtr, Ordering},
};

use kernel::{
    error::{from_err_ptr, to_result},
    prelude::*,
    types::{ARef, AlwaysRefCounted, Opaque},
};

use super::{
    close_callback, dumb_create_callback, open_callback, AllocImpl, AllocOps, DriverObject,
    KernelMap,
};
use crate::{
    drm::{Device, File},
    glue::bindings,
};

/// A tmpfs mount of the driver's own, mounted with `huge=within_size` (as i915's gemfs):
/// an object created on it gets a transparent huge page for each whole 2 MiB of its size,
/// when the allocator has a free 2 MiB block at once, small pages otherwise. Fewer, larger
/// pages are quicker to allocate and free, and the host's backing list is shorter. The
/// kernel's own shm mount, where `drm_gem_shmem_create` puts objects, follows the
/// system-wide `shmem_enabled` setting, `never` by default.
///
/// An object smaller than a huge page could only get small pages: it stays on the kernel's
/// mount ([`Object::new`]).
///
/// # Invariants
///
/// `mnt` is a mount made by `vgrs_huge_mount`, unmounted only by `drop`. Files opened on it
/// hold their own reference to it, so they may outlive the `HugeMount`.
pub(crate) struct HugeMount {
    mnt: NonNull<bindings::vfsmount>,
    /// Bytes in a huge page (2 MiB on x86-64).
    page_size: usize,
}

// SAFETY: A mount is reference counted and may be used and unmounted from any thread.
unsafe impl Send for HugeMount {}
// SAFETY: Creating files on a mount (`&self`) is safe from several threads at once.
unsafe impl Sync for HugeMount {}

impl HugeMount {
    /// Mounts it: `EOPNOTSUPP` without transparent huge pages in the kernel.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: No precondition; the mount is ours on success.
        let mnt = from_err_ptr(unsafe { bindings::vgrs_huge_mount() })?;
        // INVARIANT: `mnt` is the mount just made, non-null on success.
        let mnt = NonNull::new(mnt).ok_or(ENODEV)?;
        // SAFETY: No precondition.
        let page_size = unsafe { bindings::vgrs_huge_page_size() };
        Ok(Self { mnt, page_size })
    }

    /// Whether an object of `size` bytes may get a huge page here.
    fn fits(&self, size: usize) -> bool {
        self.page_size != 0 && size >= self.page_size
    }
}

impl Drop for HugeMount {
    fn drop(&mut self) {
        // SAFETY: `self.mnt` is our live mount (type invariant), unmounted only here.
        unsafe { bindings::vgrs_huge_unmount(self.mnt.as_ptr()) };
    }
}

/// The device type of objects with data `D`.
type Dev<D> = Device<<D as DriverObject>::Driver>;

/// A shmem GEM object whose driver data is `D`.
///
/// # Invariants
///
/// - Allocated (with `kmalloc`, by `KBox`) by [`create_object_callback`] for a device of
///   driver `D::Driver`, `base` first so that the allocation starts with the
///   `drm_gem_shmem_object`, and with `base.base.funcs` set to [`Object::FUNCS`].
/// - Valid while a reference is held (`ARef` or a DRM callback's argument) and, after the
///   GEM refcount dropped to zero, until freed: by [`free_callback`] at once, or by the
///   [`Released`] it hands to [`DriverObject::release`] when that is dropped.
/// - `data` is initialised if and only if `data_init` is true. `data_init` is written only
///   by [`Object::new`] before the object is shared, and read only once the last reference
///   is gone ([`free_callback`], [`free_object`]); every `Object` reachable through
///   [`Object::new`], [`Object::lookup`] or [`Object::from_raw_checked`] has its data
///   initialised.
/// - `kmap` is null or the address of a kernel mapping of the whole object that this
///   `Object` holds one `vmap` count of (taken by [`Object::map_kernel`]), released only by
///   [`free_object`].
/// - `pinned` is true if and only if this `Object` holds one pin of its pages (a use count,
///   taken by [`Object::new`] before the data is built), released only by [`free_object`]:
///   every object whose data is initialised has its pages pinned.
#[repr(C)]
pub(crate) struct Object<D: DriverObject> {
    base: Opaque<bindings::drm_gem_shmem_object>,
    data: UnsafeCell<MaybeUninit<D>>,
    data_init: UnsafeCell<bool>,
    kmap: AtomicPtr<u8>,
    pinned: AtomicBool,
}

/// One contiguous range of an object's backing memory, as the device addresses it: `addr`
/// (guest physical or DMA address) and `len` (bytes). The C helpers' type, so that
/// `vgrs_pages_to_ranges` fills a vector of them.
pub(crate) use bindings::vgrs_mem_range as MemRange;

impl<D: DriverObject> Object<D> {
    /// The GEM functions of our objects: the shmem helpers, with our own `free`.
    const FUNCS: bindings::drm_gem_object_funcs = bindings::drm_gem_object_funcs {
        free: Some(free_callback::<D>),
        open: if D::HAS_OPEN {
            Some(open_callback::<D>)
        } else {
            None
        },
        close: if D::HAS_CLOSE {
            Some(close_callback::<D>)
        } else {
            None
        },
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

    /// Creates an object of `size` bytes (rounded up to pages) on `dev`, with its pages
    /// allocated and pinned, then driver data from `D::new(dev, size, args)`.
    ///
    /// The pages come first, before the driver data, as the C driver orders a resource's
    /// creation (pages, then the host resource): `D::new` creating the host resource before
    /// the pages made their allocation about 0.6 ms slower for 1000 pages, the same kernel
    /// function called with the same arguments (docs/results.md, Benchmarks, stop 19).
    ///
    /// With `mount`, an object of at least a huge page takes its memory from that mount (see
    /// [`HugeMount`]).
    pub(crate) fn new(
        dev: &Dev<D>,
        size: usize,
        mount: Option<&HugeMount>,
        args: D::Args,
    ) -> Result<ARef<Self>> {
        // SAFETY: `dev` is a valid device of driver `D::Driver`, whose `gem_create_object`
        // callback (from `ALLOC_OPS`, see `Driver`) allocates an `Object<D>`.
        let shmem = from_err_ptr(unsafe { bindings::drm_gem_shmem_create(dev.as_raw(), size) })?;
        // SAFETY: The object starts with its `drm_gem_shmem_object` (`repr(C)`, first field)
        // and was allocated as an `Object<D>` by `create_object_callback::<D>`; the initial
        // reference from the creation is handed to the `ARef`, which releases the object if
        // the file, the pin or the data fails below (with `data_init` still false).
        let obj: ARef<Self> = unsafe { ARef::from_raw(NonNull::new_unchecked(shmem.cast())) };
        if let Some(m) = mount.filter(|m| m.fits(obj.size())) {
            // SAFETY: The object was just created and nobody else can reach it: it has no
            // pages, mapping or handle yet. `m.mnt` is a live mount (`HugeMount` invariant).
            to_result(unsafe { bindings::vgrs_gem_shmem_use_mount(shmem, m.mnt.as_ptr()) })?;
        }
        // SAFETY: The object is a valid shmem object, not imported (just created).
        to_result(unsafe { bindings::drm_gem_shmem_pin(shmem) })?;
        // INVARIANT: the pin just taken is the object's one; nobody else can reach the object
        // yet. Released by `free_object`, also if the data fails below.
        obj.pinned.store(true, Ordering::Release);
        let init = D::new(dev, obj.size(), args);
        // SAFETY: `data` is uninitialised, pinned (the object never moves) and ours alone:
        // the object is not shared yet. On failure `__pinned_init` leaves it uninitialised.
        unsafe { init.__pinned_init(obj.data.get().cast::<D>()) }?;
        // INVARIANT: the data was initialised just above; the object is still not shared.
        // SAFETY: Nobody else can reach the object yet, so the write does not race.
        unsafe { *obj.data_init.get() = true };
        Ok(obj)
    }

    /// Looks up the object behind `handle` in `file`; `ENOENT` if there is none or it is not
    /// one of ours (e.g. an imported buffer).
    pub(crate) fn lookup(file: &File<D::Driver>, handle: u32) -> Result<ARef<Self>> {
        // SAFETY: `file` is a valid open file.
        let obj = unsafe { bindings::drm_gem_object_lookup(file.as_raw(), handle) };
        let obj = NonNull::new(obj).ok_or(ENOENT)?;
        // SAFETY: `obj` is a valid GEM object: the lookup returned it with a reference.
        let funcs = unsafe { (*obj.as_ptr()).funcs };
        if !Self::is_ours(funcs) {
            // SAFETY: We own the reference the lookup took.
            unsafe { bindings::vgrs_drm_gem_object_put(obj.as_ptr()) };
            return Err(ENOENT);
        }
        // SAFETY: Our `FUNCS` means `create_object_callback::<D>` allocated it, so it is an
        // `Object<D>`; a handle exists only for objects `new` returned, whose data is
        // initialised; the reference from the lookup goes to the `ARef`.
        Ok(unsafe { ARef::from_raw(obj.cast()) })
    }

    /// The object behind `obj` if it is one of ours (its functions are ours), else `None`
    /// (also for a null pointer).
    ///
    /// # Safety
    ///
    /// `obj` must be null or a valid GEM object that stays referenced for `'a` and that
    /// userspace or a driver holds (a handle, a framebuffer): so not one whose `new` is
    /// still running.
    pub(crate) unsafe fn from_raw_checked<'a>(
        obj: *mut bindings::drm_gem_object,
    ) -> Option<&'a Self> {
        if obj.is_null() {
            return None;
        }
        // SAFETY: By the safety requirements `obj` is valid; `funcs` is set at creation.
        let funcs = unsafe { (*obj).funcs };
        if !Self::is_ours(funcs) {
            return None;
        }
        // SAFETY: Our `FUNCS` means `create_object_callback::<D>` allocated it, so it is an
        // `Object<D>` (which starts with its GEM object), referenced for `'a`, with its data
        // initialised (it is held by someone `new` returned it to).
        Some(unsafe { &*obj.cast::<Self>() })
    }

    /// Whether `funcs` (a GEM object's function table) is [`Object::FUNCS`] of this `D`.
    ///
    /// Compared by the `free` entry, a function instantiated once per `D` (the kernel builds a
    /// crate as one codegen unit, so the instance has one address); two uses of a promoted
    /// `const` are not guaranteed one address.
    fn is_ours(funcs: *const bindings::drm_gem_object_funcs) -> bool {
        if funcs.is_null() {
            return false;
        }
        // SAFETY: A GEM object's non-null `funcs` points to its (static) function table.
        let free = unsafe { (*funcs).free };
        free.map(|f| f as *const ()) == Some(free_callback::<D> as *const ())
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
    pub(crate) fn data(&self) -> &D {
        // SAFETY: By the type invariant every reachable `Object` has its data initialised;
        // it is only dropped in `free_callback`, when no reference is left.
        unsafe { (*self.data.get()).assume_init_ref() }
    }

    /// Creates a handle for the object in `file`.
    pub(crate) fn create_handle(&self, file: &File<D::Driver>) -> Result<u32> {
        let mut handle = 0u32;
        // SAFETY: The object and the file are valid; `handle` is a valid place. The handle
        // takes its own reference.
        to_result(unsafe {
            bindings::drm_gem_handle_create(file.as_raw(), self.gem(), &mut handle)
        })?;
        Ok(handle)
    }

    /// The address ranges of the backing pages ([`Object::new`] pinned them; they stay until
    /// the object is freed): guest physical addresses if `dma` is false (a device bypassing
    /// the DMA API), else DMA addresses.
    ///
    /// A device that addresses guest physical memory needs no DMA mapping: its ranges come
    /// from the pinned pages themselves, contiguous ones merged (as an sg table merges them),
    /// without building, mapping and later unmapping and freeing an sg table as
    /// `drm_gem_shmem_get_pages_sgt` does (the C driver builds one either way).
    pub(crate) fn backing(&self, dma: bool) -> Result<KVec<MemRange>> {
        if !dma {
            return self.page_ranges();
        }
        // SAFETY: The object is a valid shmem object (type invariant).
        let sgt = from_err_ptr(unsafe { bindings::drm_gem_shmem_get_pages_sgt(self.base.get()) })?;
        // SAFETY: `sgt` is the object's valid sg table, DMA-mapped by the helper and kept
        // until the object is freed; `nents` counts its mapped entries.
        let (mut sg, n) = unsafe {
            let t = &*sgt;
            (t.sgl, t.nents)
        };
        let mut out = KVec::with_capacity(n as usize, GFP_KERNEL)?;
        for _ in 0..n {
            if sg.is_null() {
                return Err(EINVAL);
            }
            let range = MemRange {
                // SAFETY: `sg` is an entry of the mapped table (`n` counted, non-null).
                addr: unsafe { bindings::vgrs_sg_dma_address(sg) },
                // SAFETY: As above.
                len: unsafe { bindings::vgrs_sg_dma_len(sg) },
            };
            out.push(range, GFP_KERNEL)?;
            // SAFETY: `sg` is a valid entry; `sg_next` follows chain links and returns null at
            // the end.
            sg = unsafe { bindings::sg_next(sg) };
        }
        Ok(out)
    }

    /// [`Object::backing`] for a device that addresses guest physical memory.
    fn page_ranges(&self) -> Result<KVec<MemRange>> {
        let shmem = self.base.get();
        // SAFETY: The object's data is initialised (it is reachable), so it holds a pin (type
        // invariant): `pages` is set, and it does not change while the pages are pinned (it
        // is written when the use count leaves or reaches zero).
        let pages = unsafe { (*shmem).pages };
        if pages.is_null() {
            return Err(EINVAL);
        }
        let n = self.size() >> bindings::PAGE_SHIFT;
        // Room for 64 ranges (1 KiB) first, then for as many as the first call counted:
        // contiguous pages merge, so a 1280x800 dumb buffer's 1000 pages fit. Not room for
        // one range per page: that was 16 KiB, an order-2 page allocation kept with every
        // resource (for resume), and with 40 such buffers alive a create took 5 % longer than
        // the C driver's (results.md, Benchmarks, stop 18).
        let mut out = KVec::<MemRange>::with_capacity(n.min(64), GFP_KERNEL)?;
        for _ in 0..2 {
            let room = out.capacity();
            // SAFETY: `pages` holds the object's `n` pinned pages (above); `out` has room for
            // `room` ranges, and the helper writes at most that many.
            let count = unsafe { bindings::vgrs_pages_to_ranges(pages, n, out.as_mut_ptr(), room) };
            if count <= room {
                // SAFETY: The helper wrote the first `count` ranges, within the capacity.
                unsafe { out.set_len(count) };
                return Ok(out);
            }
            out.reserve(count, GFP_KERNEL)?;
        }
        // The second call had room for the count of the first, over the same pinned pages.
        Err(EINVAL)
    }

    /// Maps the object's pages into the kernel's address space (`vmap`), once: the mapping is
    /// kept until the object is freed, and later calls return it. May sleep (allocates the
    /// pages and the mapping, takes the reservation lock).
    pub(crate) fn map_kernel(&self) -> Result<KernelMap<'_>> {
        if let Some(map) = self.kernel_map() {
            return Ok(map);
        }
        let mut map = bindings::iosys_map::default();
        // SAFETY: The object is valid; `drm_gem_vmap_unlocked` takes the reservation lock and
        // fills `map`, a valid place, taking one vmap count.
        to_result(unsafe { bindings::drm_gem_vmap_unlocked(self.gem(), &mut map) })?;
        // SAFETY: A shmem object's mapping is system memory: `vaddr` is the union member set.
        let vaddr = unsafe { map.__bindgen_anon_1.vaddr }.cast::<u8>();
        if vaddr.is_null() || map.is_iomem {
            return Err(EINVAL);
        }
        // INVARIANT: the count just taken is the object's if the exchange succeeds.
        if self
            .kmap
            .compare_exchange(
                core::ptr::null_mut(),
                vaddr,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            // Someone else mapped it first: give our count back and use theirs.
            // SAFETY: The object is valid and `map` is the mapping we took a count of.
            unsafe { bindings::drm_gem_vunmap_unlocked(self.gem(), &mut map) };
        }
        self.kernel_map().ok_or(EINVAL)
    }

    /// The kernel mapping [`Object::map_kernel`] made, if it did: no lock, no sleeping.
    pub(crate) fn kernel_map(&self) -> Option<KernelMap<'_>> {
        let vaddr = NonNull::new(self.kmap.load(Ordering::Acquire))?;
        // SAFETY: By the type invariant a non-null `kmap` maps the whole object until it is
        // freed, which cannot happen while `self` is borrowed.
        Some(unsafe { KernelMap::new(vaddr, self.size()) })
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
unsafe impl<D: DriverObject> AlwaysRefCounted for Object<D> {
    fn inc_ref(&self) {
        // SAFETY: The object is valid and we hold a reference.
        unsafe { bindings::vgrs_drm_gem_object_get(self.gem()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: `obj` is valid and the caller gives up its reference; an `Object<D>` starts
        // with its `drm_gem_object` (`repr(C)` first fields).
        unsafe { bindings::vgrs_drm_gem_object_put(obj.cast().as_ptr()) };
    }
}

// SAFETY: GEM objects are refcounted and freed from any thread; `D: Send + Sync`.
unsafe impl<D: DriverObject> Send for Object<D> {}

// SAFETY: Shared references only read fields that are immutable once the object is shared
// (`data_init` is written before), or `D: Sync`.
unsafe impl<D: DriverObject> Sync for Object<D> {}

impl<D: DriverObject> AllocImpl for Object<D> {
    const ALLOC_OPS: AllocOps = AllocOps {
        gem_create_object: Some(create_object_callback::<D>),
        dumb_create: if D::HAS_DUMB_CREATE {
            Some(dumb_create_callback::<D>)
        } else {
            None
        },
    };

    unsafe fn from_gem<'a>(obj: *mut bindings::drm_gem_object) -> Option<&'a Self> {
        // SAFETY: The caller's requirements are those of `from_raw_checked`.
        unsafe { Self::from_raw_checked(obj) }
    }

    fn kernel_map(&self) -> Option<KernelMap<'_>> {
        Object::kernel_map(self)
    }

    fn as_gem(&self) -> *mut bindings::drm_gem_object {
        self.gem()
    }
}

/// `drm_driver.gem_create_object`: allocates an [`Object<D>`] for the shmem helper, its data
/// not yet initialised ([`Object::new`] does that).
///
/// # Safety
///
/// Called by `drm_gem_shmem_create` for a device of driver `D::Driver`.
unsafe extern "C" fn create_object_callback<D: DriverObject>(
    _dev: *mut bindings::drm_device,
    _size: usize,
) -> *mut bindings::drm_gem_object {
    let obj = Object::<D> {
        // The shmem helper expects a zeroed object (the C drivers use `kzalloc`).
        base: Opaque::new(bindings::drm_gem_shmem_object::default()),
        data: UnsafeCell::new(MaybeUninit::uninit()),
        data_init: UnsafeCell::new(false),
        kmap: AtomicPtr::new(core::ptr::null_mut()),
        pinned: AtomicBool::new(false),
    };
    let Ok(obj) = KBox::new(obj, GFP_KERNEL) else {
        return ENOMEM.to_ptr();
    };
    let obj = KBox::into_raw(obj);
    // SAFETY: `obj` is a valid, exclusively owned allocation; `funcs` is a field of its
    // embedded GEM object.
    unsafe { (*(*obj).base.get()).base.funcs = &Object::<D>::FUNCS };
    // INVARIANT: allocated by `KBox` with `base` first and our `FUNCS`, data not initialised
    // and `data_init` false. From here on the shmem helper owns the allocation and frees it
    // with `kfree` (in `drm_gem_shmem_free`, or at once if its own set-up fails, which drops
    // nothing: the data is uninitialised then).
    // SAFETY: `base` is the first field of a valid allocation.
    unsafe { core::ptr::addr_of_mut!((*(*obj).base.get()).base) }
}

/// An object whose last reference is gone, not yet freed ([`DriverObject::release`]): its
/// data and pages are still there. Dropping it frees the object.
///
/// Nothing else can reach the object any more: GEM's lookups (handles, mmap offsets) take a
/// reference only from a count that is not zero, and every holder of a reference is gone.
///
/// # Invariants
///
/// `0` points to an [`Object<D>`] whose GEM reference count reached zero and whose data is
/// initialised; this value alone owns it, and frees it (once) when dropped.
pub(crate) struct Released<D: DriverObject>(NonNull<Object<D>>);

// SAFETY: The object may be freed from any thread (as GEM frees objects from whichever
// thread drops the last reference), and `D: Send + Sync`.
unsafe impl<D: DriverObject> Send for Released<D> {}

impl<D: DriverObject> Released<D> {
    /// The object's data.
    pub(crate) fn data(&self) -> &D {
        // SAFETY: The object is valid until this value is dropped, with its data initialised
        // (type invariant).
        unsafe { (*self.0.as_ptr()).data() }
    }
}

impl<D: DriverObject> Drop for Released<D> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the object has no references left, its data is
        // initialised and this value alone owns it; it is freed once, here.
        unsafe { free_object(self.0.as_ptr()) };
    }
}

/// `drm_gem_object_funcs.free`: the last reference is gone. The driver's
/// [`DriverObject::release`] gets the object if it has one (and its data was built); else
/// it is freed at once.
///
/// # Safety
///
/// Called by GEM once, for an [`Object<D>`], with no references left.
unsafe extern "C" fn free_callback<D: DriverObject>(gem: *mut bindings::drm_gem_object) {
    let obj = gem.cast::<Object<D>>();
    // SAFETY: By the function's safety requirements `gem` is the start of an `Object<D>`,
    // valid until freed, with no other users.
    let initialised = unsafe { *(*obj).data_init.get() };
    if D::HAS_RELEASE && initialised {
        // SAFETY: `obj` is non-null (a valid object, above).
        let obj = unsafe { NonNull::new_unchecked(obj) };
        // INVARIANT: no references are left, the data is initialised, and GEM calls this once:
        // the `Released` alone owns the object.
        D::release(Released(obj));
        return;
    }
    // SAFETY: As above: no references left, and GEM frees the object only through here.
    unsafe { free_object(obj) };
}

/// Frees an object: gives back its kernel mapping, drops its data (if it was built), then
/// releases its pages and GEM state and the allocation.
///
/// # Safety
///
/// `obj` is a valid [`Object<D>`] with no references left, owned by the caller, which gives
/// it up: it is freed here.
unsafe fn free_object<D: DriverObject>(obj: *mut Object<D>) {
    // SAFETY: `obj` is valid (the function's safety requirements); `base` is its first field.
    let gem = unsafe { core::ptr::addr_of_mut!((*(*obj).base.get()).base) };
    // A GEM object holds no reference to its device in 6.12, but the driver data may (ours
    // does), and it is dropped first: its reference can be the device's last, and
    // `drm_gem_shmem_free` below still uses the device (its mmap offset manager). So the
    // device is kept until the object is gone. (Seen: objects whose unref answers came in
    // as the module unloaded; the last one's free removed its offset node from the freed
    // manager.)
    // SAFETY: `obj` is valid, so its `dev` is the live device it was created on.
    let drm = unsafe { (*gem).dev };
    // SAFETY: `drm` is a live device (above): taking a reference is allowed.
    unsafe { bindings::drm_dev_get(drm) };
    // SAFETY: By the function's safety requirements `obj` is a valid `Object<D>` until freed
    // below, with no other users.
    let kmap = unsafe { (*obj).kmap.load(Ordering::Acquire) };
    if !kmap.is_null() {
        let mut map = bindings::iosys_map {
            __bindgen_anon_1: bindings::iosys_map__bindgen_ty_1 { vaddr: kmap.cast() },
            is_iomem: false,
        };
        // SAFETY: The object is valid and holds one vmap count for `kmap` (type invariant),
        // given back here, once; the shmem helper requires none left when it frees.
        unsafe { bindings::drm_gem_vunmap_unlocked(gem, &mut map) };
    }
    // SAFETY: As above.
    let initialised = unsafe { *(*obj).data_init.get() };
    if initialised {
        // SAFETY: The data is initialised (type invariant: `data_init` is true) and never used
        // again; the allocation itself is freed by the shmem helper below, so the field is
        // dropped in place. Its `Drop` runs while the pages are still there.
        unsafe { core::ptr::drop_in_place((*(*obj).data.get()).as_mut_ptr()) };
    }
    // SAFETY: As above.
    if unsafe { (*obj).pinned.load(Ordering::Acquire) } {
        // SAFETY: The object holds one pin of its pages (type invariant), given back here,
        // once; the shmem helper requires none left but its own sg table's when it frees.
        unsafe { bindings::drm_gem_shmem_unpin((*obj).base.get()) };
    }
    // SAFETY: The object is a shmem object allocated with `kmalloc` (type invariant); this
    // releases its pages and GEM state and `kfree`s the allocation, which starts at `base`.
    unsafe { bindings::drm_gem_shmem_free((*obj).base.get()) };
    // SAFETY: The reference taken above, given back once; the object no longer uses the
    // device.
    unsafe { bindings::drm_dev_put(drm) };
}
