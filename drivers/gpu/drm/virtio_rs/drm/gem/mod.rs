// SPDX-License-Identifier: GPL-2.0

//! GEM objects: the driver data every object carries, and the kinds of object.
//!
//! Shaped like upstream `kernel::drm::gem` (6.15+): a driver describes the data of its objects
//! with [`DriverObject`], built in place from `(device, size, args)` when the object is
//! created and dropped when it is freed (the place to release what the device holds of it);
//! the object *kind* decides where the memory comes from and which `drm_driver` entries
//! allocate it ([`AllocOps`], upstream's `AllocImpl::ALLOC_OPS`).
//!
//! Kinds:
//! - [`shmem::Object`]: pages from shmem (`drm_gem_shmem_object`), for dumb buffers and any
//!   buffer the device reads from system memory. The only kind today.
//! - Objects whose memory the device owns (VRAM, or a paravirtual device's host-visible
//!   memory, mapped through a PCI BAR) would be a second kind beside it: a plain `drm_gem_object` with
//!   `drm_gem_private_object_init`, no pages, an `mmap` of the BAR range. They share
//!   [`DriverObject`] and the handle and lookup functions; nothing in `shmem.rs` assumes it
//!   is the only kind (lookups check the object's function table, so a handle of another kind
//!   is `ENOENT` for `shmem::Object::lookup`).
//! - Imported dma-bufs (`gem_prime_import`) would be a third: the object wraps a foreign
//!   `sg_table`, and the import entry points belong in [`AllocOps`].
//!
//! C header: [`include/drm/drm_gem.h`](srctree/include/drm/drm_gem.h)

pub(crate) mod shmem;

use core::{marker::PhantomData, ptr::NonNull};

use kernel::{
    prelude::*,
    time::Jiffies,
    types::{ARef, AlwaysRefCounted, Opaque},
};

use super::{driver::Driver, Device, File};
use crate::glue::{bindings, uapi};

/// The data a driver keeps in each of its GEM objects.
///
/// Built in place by [`DriverObject::new`] when the object is created, before anyone else
/// can see the object; dropped when the object is freed, before its memory is released.
/// When the last reference goes, [`DriverObject::release`] (if the driver has it) gets the
/// object and may keep it until the device let go of its pages, as the C drivers free an
/// object from the completion of the command that releases it; without it the object is
/// freed at once. `Drop` runs in process context and may sleep; the device may be unplugged
/// by then.
#[vtable]
pub(crate) trait DriverObject: Sized + Send + Sync + 'static {
    /// The driver whose objects these are.
    type Driver: Driver;
    /// What the creator of an object passes to [`DriverObject::new`].
    type Args;

    /// The initialiser of the data of a new object of `size` bytes (page aligned) on `dev`.
    /// If it fails, the object is released without its data ever being dropped.
    fn new(dev: &Device<Self::Driver>, size: usize, args: Self::Args) -> impl PinInit<Self, Error>;

    /// `drm_gem_object_funcs.open` (optional): `file` got a handle to `obj` (it may already
    /// have had one). An error fails the handle's creation.
    fn open(obj: &<Self::Driver as Driver>::Object, file: &File<Self::Driver>) -> Result {
        let _ = (obj, file);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `drm_gem_object_funcs.close` (optional): one of `file`'s handles to `obj` is gone (the
    /// file may be closing). Runs in process context.
    fn close(obj: &<Self::Driver as Driver>::Object, file: &File<Self::Driver>) {
        let _ = (obj, file);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// The last reference to `obj` is gone (optional): dropping `obj` frees it, data, pages
    /// and all; the driver may instead keep it until the device no longer uses its pages
    /// (e.g. hand it to the completion of the command that makes the device let go). Runs in
    /// process context and may sleep. Only objects whose data was built get here.
    fn release(obj: shmem::Released<Self>) {
        let _ = obj;
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }

    /// `DRM_IOCTL_MODE_CREATE_DUMB` (optional: without it the ioctl is `ENOSYS`): creates a
    /// dumb buffer for `req` and a handle for it in `file`.
    fn dumb_create(
        dev: &Device<Self::Driver>,
        file: &File<Self::Driver>,
        req: &DumbRequest,
    ) -> Result<DumbBuffer> {
        let _ = (dev, file, req);
        kernel::build_error(kernel::error::VTABLE_DEFAULT_ERROR)
    }
}

/// An initialiser of a value computed up front, or failing with the error computing it
/// failed with: for [`DriverObject::new`]s whose work is done before the object is shown to
/// anyone (e.g. creating the host side of a resource).
pub(crate) fn init_from<T>(r: Result<T>) -> impl PinInit<T, Error> {
    let init = move |slot: *mut T| {
        let v = r?;
        // SAFETY: `slot` is valid for writes of a `T` (the initialiser's contract).
        unsafe { slot.write(v) };
        Ok(())
    };
    // SAFETY: The closure either writes a valid `T` to the slot and returns `Ok`, or leaves
    // the slot untouched and returns `Err`, as `pin_init_from_closure` requires; a `T` written
    // by value is not moved afterwards.
    unsafe { kernel::init::pin_init_from_closure(init) }
}

/// A dumb buffer request (`struct drm_mode_create_dumb`, what userspace asked for).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DumbRequest {
    /// Width in pixels.
    pub(crate) width: u32,
    /// Height in pixels.
    pub(crate) height: u32,
    /// Bits per pixel.
    pub(crate) bpp: u32,
}

/// What [`DriverObject::dumb_create`] made: the handle and the layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DumbBuffer {
    /// The new handle in the caller's file.
    pub(crate) handle: u32,
    /// Bytes per row.
    pub(crate) pitch: u32,
    /// Size in bytes.
    pub(crate) size: u64,
}

/// The `drm_driver` entries of one kind of GEM object (upstream: `AllocOps`).
pub(crate) struct AllocOps {
    /// `gem_create_object`: allocates the kind's object for the helpers that create it.
    pub(crate) gem_create_object: Option<
        unsafe extern "C" fn(*mut bindings::drm_device, usize) -> *mut bindings::drm_gem_object,
    >,
    /// `dumb_create`.
    pub(crate) dumb_create: Option<
        unsafe extern "C" fn(
            *mut bindings::drm_file,
            *mut bindings::drm_device,
            *mut bindings::drm_mode_create_dumb,
        ) -> kernel::ffi::c_int,
    >,
}

/// A kind of GEM object a [`Driver`] uses as its `Object` (upstream: `AllocImpl` and
/// `IntoGEMObject`).
pub(crate) trait AllocImpl: Sized {
    /// The `drm_driver` entries that allocate objects of this kind.
    const ALLOC_OPS: AllocOps;

    /// The object behind `obj` if it is of this kind and driver (its function table says so),
    /// else `None` (also for a null pointer).
    ///
    /// # Safety
    ///
    /// `obj` must be null or a valid GEM object that stays referenced for `'a` and that
    /// userspace or a driver holds (a handle, a framebuffer): so not one still being created.
    unsafe fn from_gem<'a>(obj: *mut bindings::drm_gem_object) -> Option<&'a Self>;

    /// The object's kernel mapping, if it has one that lasts until it is freed; usable
    /// without locks or sleeping (drm_panic draws through it).
    fn kernel_map(&self) -> Option<KernelMap<'_>>;

    /// The object's `drm_gem_object`, valid while `self` is.
    fn as_gem(&self) -> *mut bindings::drm_gem_object;

    /// Whether every fence in the object's reservation object signalled, reads included
    /// (`VIRTGPU_WAIT` with `NOWAIT`).
    fn is_idle(&self) -> bool {
        // SAFETY: The object is valid while `self` is; its `resv` is set at init and lives as
        // long as the object; the test takes no lock that could be held here.
        unsafe {
            bindings::dma_resv_test_signaled(
                (*self.as_gem()).resv,
                bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
            )
        }
    }

    /// Waits, interruptibly and for at most `timeout`, until every fence in the object's
    /// reservation object signalled; `Ok(false)` if the time ran out.
    fn wait_idle(&self, timeout: Jiffies) -> Result<bool> {
        // SAFETY: As in `is_idle`; waiting may sleep, which callers of this process-context
        // function allow.
        let r = unsafe {
            bindings::dma_resv_wait_timeout(
                (*self.as_gem()).resv,
                bindings::dma_resv_usage_DMA_RESV_USAGE_READ,
                true,
                timeout as _,
            )
        };
        if r < 0 {
            return Err(Error::from_errno(r as i32));
        }
        Ok(r > 0)
    }
}

/// The reservation locks (`dma_resv`) of a set of objects, each with room for one more
/// fence; unlocked when dropped. Several objects are locked together the way
/// `drm_gem_lock_reservations` does (wound/wait, with one ticket; `EALREADY` if an object is
/// listed twice); a single one is locked alone, without a ticket, as the C driver locks it
/// (`virtio_gpu_array_lock_resv`): a submission with one buffer object, the common case,
/// then allocates no ticket and takes no acquire context (`make profile`: the ticket's
/// lock and unlock were a tenth of an EXECBUFFER + WAIT round trip's CPU time).
///
/// # Invariants
///
/// While this exists, the reservation lock of every object it names is held: of the one
/// object of [`Held::One`], or of every object of [`Held::Many`] with its `ticket`
/// (initialised and pinned); and the objects are kept alive by the slice this borrows from.
pub(crate) struct Reservations<'a> {
    held: Held,
    _objs: PhantomData<&'a ()>,
}

/// The locks a [`Reservations`] holds.
enum Held {
    /// No object.
    None,
    /// One object, locked without a ticket.
    One(*mut bindings::drm_gem_object),
    /// Several objects, locked with `ticket`.
    Many {
        objs: KVec<*mut bindings::drm_gem_object>,
        ticket: Pin<KBox<Opaque<bindings::ww_acquire_ctx>>>,
    },
}

impl<'a> Reservations<'a> {
    /// Locks the reservation objects of `objs` and reserves a fence slot in each.
    pub(crate) fn lock<O: AllocImpl + AlwaysRefCounted>(objs: &'a [ARef<O>]) -> Result<Self> {
        let held = match objs {
            [] => Held::None,
            [one] => {
                let o = one.as_gem();
                // SAFETY: `o` is a valid object, kept alive by `objs` for `'a`.
                kernel::error::to_result(unsafe {
                    bindings::vgrs_dma_resv_lock_interruptible((*o).resv)
                })?;
                Held::One(o)
            }
            _ => {
                let mut raw = KVec::with_capacity(objs.len(), GFP_KERNEL)?;
                for o in objs {
                    raw.push(o.as_gem(), GFP_KERNEL)?;
                }
                let count = kernel::ffi::c_int::try_from(raw.len())?;
                let ticket = KBox::pin(Opaque::uninit(), GFP_KERNEL)?;
                // SAFETY: `raw` holds `count` valid objects, kept alive by `objs` for `'a`;
                // `ticket` is pinned memory that `drm_gem_lock_reservations` initialises (and
                // finishes again if it fails).
                kernel::error::to_result(unsafe {
                    bindings::drm_gem_lock_reservations(raw.as_mut_ptr(), count, ticket.get())
                })?;
                Held::Many { objs: raw, ticket }
            }
        };
        // INVARIANT: every lock `held` names was taken just above.
        let this = Self {
            held,
            _objs: PhantomData,
        };
        for &o in this.objects() {
            // SAFETY: `o` is valid and its reservation lock is held (type invariant), as
            // `dma_resv_reserve_fences` requires. On failure `this` drops: all are unlocked.
            kernel::error::to_result(unsafe { bindings::dma_resv_reserve_fences((*o).resv, 1) })?;
        }
        Ok(this)
    }

    /// The locked objects.
    fn objects(&self) -> &[*mut bindings::drm_gem_object] {
        match &self.held {
            Held::None => &[],
            Held::One(o) => core::slice::from_ref(o),
            Held::Many { objs, .. } => objs,
        }
    }

    /// Adds `fence` to every object's reservation object, as a write (what later readers and
    /// writers, and the scanout, wait for).
    pub(crate) fn add_fence(&mut self, fence: &crate::drm::fence::FenceRef) {
        for &o in self.objects() {
            // SAFETY: `o` is valid, its reservation lock is held and a fence slot reserved
            // (type invariant, `lock`); `dma_resv_add_fence` takes its own fence reference.
            unsafe {
                bindings::dma_resv_add_fence(
                    (*o).resv,
                    fence.as_raw(),
                    bindings::dma_resv_usage_DMA_RESV_USAGE_WRITE,
                )
            };
        }
    }
}

impl Drop for Reservations<'_> {
    fn drop(&mut self) {
        match &mut self.held {
            Held::None => {}
            // SAFETY: The object is valid and its lock, taken without a ticket, is held (type
            // invariant); released once, here.
            Held::One(o) => unsafe { bindings::vgrs_dma_resv_unlock((**o).resv) },
            Held::Many { objs, ticket } => {
                let count = objs.len() as kernel::ffi::c_int;
                // SAFETY: Every lock is held with `ticket` (type invariant); this releases
                // them all and finishes the ticket, once.
                unsafe {
                    bindings::drm_gem_unlock_reservations(objs.as_mut_ptr(), count, ticket.get())
                };
            }
        }
    }
}

/// A kernel mapping of a whole object's memory (e.g. by [`shmem::Object::map_kernel`]), kept
/// until the object is freed: reading or writing through it needs no lock and never sleeps (what
/// drm_panic needs).
///
/// # Invariants
///
/// `vaddr` maps `len` bytes, the object's size, for at least `'a` (the object outlives `'a`
/// and keeps the mapping until it is freed).
#[derive(Clone, Copy)]
pub(crate) struct KernelMap<'a> {
    vaddr: NonNull<u8>,
    len: usize,
    _object: PhantomData<&'a ()>,
}

impl KernelMap<'_> {
    /// # Safety
    ///
    /// `vaddr` must map `len` bytes for as long as the returned value's lifetime.
    pub(super) unsafe fn new(vaddr: NonNull<u8>, len: usize) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            vaddr,
            len,
            _object: PhantomData,
        }
    }

    /// The start of the mapping.
    pub(crate) fn vaddr(&self) -> NonNull<u8> {
        self.vaddr
    }

    /// Its length in bytes (the object's size).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies `out.len()` bytes from `offset` into `out` (`EINVAL` if they are not all within
    /// the object). The memory may be written meanwhile (userspace draws into its mapping of
    /// the same pages): the copy then holds some mix of old and new bytes, as a display
    /// controller's scanout would.
    pub(crate) fn read(&self, offset: usize, out: &mut [u8]) -> Result {
        let end = offset.checked_add(out.len()).ok_or(EINVAL)?;
        if end > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `offset..end` is within the `len` mapped bytes (checked above), mapped for
        // the lifetime of `self` (type invariant); `out` is a distinct, writable buffer. The
        // source is only read, as bytes (any value is a valid `u8`), and never through a
        // reference, since others may write it concurrently.
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.vaddr.as_ptr().add(offset),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        Ok(())
    }
}

/// `drm_gem_object_funcs.open` for objects whose data is `D`.
///
/// # Safety
///
/// Called by GEM with a valid object of driver `D::Driver` (one that has a handle being
/// created, so fully created) and a valid open file of the same device.
pub(super) unsafe extern "C" fn open_callback<D: DriverObject>(
    obj: *mut bindings::drm_gem_object,
    raw_file: *mut bindings::drm_file,
) -> kernel::ffi::c_int {
    // SAFETY: `obj` is a valid, fully created object the handle being created keeps
    // referenced for the call (safety requirements).
    let Some(obj) = (unsafe { <<D::Driver as Driver>::Object as AllocImpl>::from_gem(obj) }) else {
        return EINVAL.to_errno();
    };
    // SAFETY: `raw_file` is a valid, open file of a device of `D::Driver`.
    let file = unsafe { File::<D::Driver>::from_raw(raw_file) };
    match D::open(obj, file) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `drm_gem_object_funcs.close` for objects whose data is `D`.
///
/// # Safety
///
/// As for [`open_callback`], for a handle being deleted.
pub(super) unsafe extern "C" fn close_callback<D: DriverObject>(
    obj: *mut bindings::drm_gem_object,
    raw_file: *mut bindings::drm_file,
) {
    // SAFETY: `obj` is a valid object with a handle (being deleted), referenced for the call.
    if let Some(obj) = unsafe { <<D::Driver as Driver>::Object as AllocImpl>::from_gem(obj) } {
        // SAFETY: `raw_file` is a valid, open file of a device of `D::Driver`.
        let file = unsafe { File::<D::Driver>::from_raw(raw_file) };
        D::close(obj, file);
    }
}

/// `drm_driver.dumb_create` for objects whose data is `D`.
///
/// # Safety
///
/// Called by DRM with a valid open file of a valid device of driver `D::Driver` and a valid
/// argument struct (a kernel copy, exclusively ours for the call).
pub(super) unsafe extern "C" fn dumb_create_callback<D: DriverObject>(
    raw_file: *mut bindings::drm_file,
    raw_dev: *mut bindings::drm_device,
    args: *mut bindings::drm_mode_create_dumb,
) -> kernel::ffi::c_int {
    // SAFETY: By the function's safety requirements `raw_dev` is a device of `D::Driver`,
    // alive for the call.
    let dev = unsafe { Device::<D::Driver>::from_raw(raw_dev) };
    // SAFETY: As above, `raw_file` is an open file of `dev`.
    let file = unsafe { File::<D::Driver>::from_raw(raw_file) };
    // SAFETY: `args` points to the ioctl's kernel copy of the struct (`drm_ioctl`'s buffer,
    // of any alignment), readable for the call; it is `FromBytes` (`glue::uapi`), so any
    // contents are a valid value.
    let mut a: uapi::drm_mode_create_dumb = unsafe { args.read_unaligned() };
    let req = DumbRequest {
        width: a.width,
        height: a.height,
        bpp: a.bpp,
    };
    let ret = match D::dumb_create(dev, file, &req) {
        Ok(b) => {
            a.handle = b.handle;
            a.pitch = b.pitch;
            a.size = b.size;
            0
        }
        Err(e) => e.to_errno(),
    };
    // SAFETY: `args` is writable and exclusively ours for the call (as above); the struct is
    // `AsBytes`, so the copy userspace gets back has no uninitialised bytes.
    unsafe { args.write_unaligned(a) };
    ret
}
