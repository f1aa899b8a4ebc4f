// SPDX-License-Identifier: GPL-2.0
//! `vgrs-fuzz`: random ioctl sequences over the DRM core, KMS, GEM, sync object and virtgpu
//! ioctls of a virtio-gpu driver, seeded and reproducible from the printed seed (with one
//! thread; several threads interleave as the scheduler pleases).
//!
//! Usage: `vgrs-fuzz [--seed N] [--iters N] [--threads N] [--label L] [--card PATH]
//! [--until-gone]`
//!
//! `--card /dev/dri/cardN` fuzzes that device (its primary node and its render node) instead
//! of the first in /dev/dri. `--until-gone`: a thread whose device has gone for good (the
//! primary node no longer there when it reopens its files) ends its run there, counting the
//! calls it made, instead of waiting 30 s for the device to come back: a real hot-unplug
//! under the fuzzer, with no replug.
//!
//! Each thread opens its own files (the primary node, twice: one may hold master; the render
//! node) and, per iteration, picks a file and an ioctl, fills the ioctl's argument with edge
//! values (0, 1, -1, the largest values, powers of two, ids and handles that exist: the
//! KMS objects found at start and handles earlier calls returned) and pointers (null, an
//! unmapped page, or a scratch area), and calls it. Waits are given a zero timeout. Whatever
//! the kernel answers is counted: the program prints one histogram line per ioctl (errno:
//! count) and `FUZZ <label> <total> ioctls, seed <seed>`. It fails (exit 1) only if it could
//! not run; the guest scenario judges the kernel log.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rustix::ioctl::{Ioctl, IoctlOutput, Opcode};
use rustix::mm::{mmap_anonymous, mprotect, MapFlags, MprotectFlags, ProtFlags};

/// An ioctl the fuzzer calls: name, number, argument size, and the offsets of fields that are
/// forced to 0 (timeouts, so no call waits long).
struct Desc {
    name: &'static str,
    nr: u8,
    size: usize,
    zero: &'static [usize],
    /// u32 fields (offset, largest value) kept in range: see [`sc`].
    clamp: &'static [(usize, u32)],
}

const fn d(name: &'static str, nr: u8, size: usize) -> Desc {
    Desc {
        name,
        nr,
        size,
        zero: &[],
        clamp: &[],
    }
}

/// An ioctl with fields kept in range. The syncobj ioctls' handle counts: the 6.12 DRM core allocates the
/// handle array with `kmalloc_array` without `__GFP_NOWARN` (`drm_syncobj_array_find`), so a
/// count of a few hundred million makes the page allocator WARN, on any driver with syncobjs
/// (found by this fuzzer; see docs/robustness.md). Counts are kept to 1024 so the runs test
/// the driver.
const fn sc(
    name: &'static str,
    nr: u8,
    size: usize,
    clamp: &'static [(usize, u32)],
    zero: &'static [usize],
) -> Desc {
    Desc {
        name,
        nr,
        size,
        zero,
        clamp,
    }
}

/// The fuzzed ioctls (numbers and sizes from the uapi headers; the DRM core copies the
/// smaller of the given and its own size, so a size only needs to cover the struct).
const TABLE: &[Desc] = &[
    d("VERSION", 0x00, 64),
    d("GET_UNIQUE", 0x01, 16),
    d("GET_MAGIC", 0x02, 4),
    d("GET_CAP", 0x0c, 16),
    d("SET_CLIENT_CAP", 0x0d, 16),
    d("SET_VERSION", 0x07, 16),
    d("GEM_CLOSE", 0x09, 8),
    d("GEM_FLINK", 0x0a, 8),
    d("GEM_OPEN", 0x0b, 16),
    d("SET_MASTER", 0x1e, 0),
    d("DROP_MASTER", 0x1f, 0),
    d("AUTH_MAGIC", 0x11, 4),
    d("PRIME_HANDLE_TO_FD", 0x2d, 12),
    d("PRIME_FD_TO_HANDLE", 0x2e, 12),
    // union drm_wait_vblank: the sequence at 4 is zeroed (a relative wait for many vblanks
    // would sit out DRM's 3 s timeout).
    Desc {
        name: "WAIT_VBLANK",
        nr: 0x3a,
        size: 24,
        zero: &[4],
        clamp: &[],
    },
    d("CRTC_GET_SEQUENCE", 0x3b, 24),
    d("CRTC_QUEUE_SEQUENCE", 0x3c, 24),
    d("MODE_GETRESOURCES", 0xa0, 64),
    d("MODE_GETCRTC", 0xa1, 104),
    d("MODE_SETCRTC", 0xa2, 104),
    d("MODE_CURSOR", 0xa3, 28),
    d("MODE_GETGAMMA", 0xa4, 32),
    d("MODE_SETGAMMA", 0xa5, 32),
    d("MODE_GETENCODER", 0xa6, 20),
    d("MODE_GETCONNECTOR", 0xa7, 80),
    d("MODE_GETPROPERTY", 0xaa, 64),
    d("MODE_SETPROPERTY", 0xab, 16),
    d("MODE_GETPROPBLOB", 0xac, 16),
    d("MODE_GETFB", 0xad, 28),
    d("MODE_ADDFB", 0xae, 28),
    d("MODE_RMFB", 0xaf, 4),
    d("MODE_PAGE_FLIP", 0xb0, 24),
    d("MODE_DIRTYFB", 0xb1, 24),
    // Buffers are pinned at creation (on both drivers): sizes up to 4096 x 4096 x 64 bpp,
    // so three threads cannot run a 2 GiB guest out of memory (the OOM killer then ends the
    // run, which is no finding about the driver).
    sc(
        "MODE_CREATE_DUMB",
        0xb2,
        32,
        &[(0, 4096), (4, 4096), (8, 64)],
        &[],
    ),
    d("MODE_MAP_DUMB", 0xb3, 16),
    d("MODE_DESTROY_DUMB", 0xb4, 4),
    d("MODE_GETPLANERESOURCES", 0xb5, 16),
    d("MODE_GETPLANE", 0xb6, 32),
    d("MODE_SETPLANE", 0xb7, 48),
    d("MODE_ADDFB2", 0xb8, 104),
    d("MODE_OBJ_GETPROPERTIES", 0xb9, 32),
    d("MODE_OBJ_SETPROPERTY", 0xba, 24),
    d("MODE_CURSOR2", 0xbb, 36),
    d("MODE_ATOMIC", 0xbc, 56),
    // The DRM core takes a property blob of up to 2 GiB from any client of the primary node
    // (kvzalloc, held until the file closes): length (at 8) up to 1 MiB, or three threads
    // run the guest out of memory (found by this fuzzer; see docs/robustness.md).
    sc("MODE_CREATEPROPBLOB", 0xbd, 16, &[(8, 1 << 20)], &[]),
    d("MODE_DESTROYPROPBLOB", 0xbe, 4),
    d("SYNCOBJ_CREATE", 0xbf, 8),
    d("SYNCOBJ_DESTROY", 0xc0, 8),
    d("SYNCOBJ_HANDLE_TO_FD", 0xc1, 16),
    d("SYNCOBJ_FD_TO_HANDLE", 0xc2, 16),
    // struct drm_syncobj_wait: timeout_nsec at 8.
    sc("SYNCOBJ_WAIT", 0xc3, 40, &[(16, 1024)], &[8, 12]),
    // struct drm_syncobj_array: count_handles at 8.
    sc("SYNCOBJ_RESET", 0xc4, 16, &[(8, 1024)], &[]),
    sc("SYNCOBJ_SIGNAL", 0xc5, 16, &[(8, 1024)], &[]),
    d("MODE_CREATE_LEASE", 0xc6, 32),
    d("MODE_LIST_LESSEES", 0xc7, 16),
    d("MODE_GET_LEASE", 0xc8, 16),
    d("MODE_REVOKE_LEASE", 0xc9, 4),
    // struct drm_syncobj_timeline_wait: timeout_nsec at 16.
    sc("SYNCOBJ_TIMELINE_WAIT", 0xca, 48, &[(24, 1024)], &[16, 20]),
    // struct drm_syncobj_timeline_array: count_handles at 16.
    sc("SYNCOBJ_QUERY", 0xcb, 32, &[(16, 1024)], &[]),
    d("SYNCOBJ_TRANSFER", 0xcc, 48),
    sc("SYNCOBJ_TIMELINE_SIGNAL", 0xcd, 24, &[(16, 1024)], &[]),
    d("MODE_GETFB2", 0xce, 104),
    d("VIRTGPU_MAP", 0x41, 16),
    d("VIRTGPU_EXECBUFFER", 0x42, 48),
    d("VIRTGPU_GETPARAM", 0x43, 16),
    // width, height and size (at 12, 16 and 48) likewise.
    sc(
        "VIRTGPU_RESOURCE_CREATE",
        0x44,
        56,
        &[(12, 4096), (16, 4096), (48, 64 << 20)],
        &[],
    ),
    d("VIRTGPU_RESOURCE_INFO", 0x45, 16),
    d("VIRTGPU_TRANSFER_FROM_HOST", 0x46, 48),
    d("VIRTGPU_TRANSFER_TO_HOST", 0x47, 48),
    // struct drm_virtgpu_3d_wait: flags at 4 forced to NOWAIT below instead.
    d("VIRTGPU_WAIT", 0x48, 8),
    d("VIRTGPU_GET_CAPS", 0x49, 24),
    d("VIRTGPU_RESOURCE_CREATE_BLOB", 0x4a, 48),
    d("VIRTGPU_CONTEXT_INIT", 0x4b, 16),
];

/// xorshift64*: small, seedable, good enough to pick arguments.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Where pointers in arguments may point: two scratch areas of 64 KiB, each followed by a
/// page the process cannot touch, so what the kernel writes past an area stops at a fault
/// (`EFAULT`) instead of reaching the program's own memory.
struct Scratch {
    base: usize,
}

const AREA: usize = 64 * 1024;
const PAGE: usize = 4096;

impl Scratch {
    fn new() -> std::io::Result<Self> {
        let len = 2 * (AREA + PAGE);
        // SAFETY: a new anonymous private mapping: no existing memory is affected.
        let p = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }?;
        let base = p as usize;
        for i in 0..2 {
            let guard = base + i * (AREA + PAGE) + AREA;
            // SAFETY: `guard` is a page of the mapping made above, used by nothing else.
            unsafe { mprotect(guard as *mut _, PAGE, MprotectFlags::empty()) }?;
        }
        Ok(Self { base })
    }
    /// One of the two areas (the mapping is never unmapped: it lives as long as the process).
    fn area(&self, i: usize) -> u64 {
        (self.base + (i % 2) * (AREA + PAGE)) as u64
    }
    /// Whether `v` is an address inside the mapping (areas and guard pages).
    fn contains(&self, v: u64) -> bool {
        let base = self.base as u64;
        v >= base && v < base + 2 * (AREA + PAGE) as u64
    }
    /// Replaces every 8-byte value in the areas that is a user address outside them (at least
    /// 64 KiB, below the top of the 47-bit user space) with the first area's address, and
    /// returns how many there were.
    ///
    /// The kernel reads pointers out of the areas as well as from arguments: `MODE_ATOMIC`
    /// takes the CRTC property `OUT_FENCE_PTR`'s value from the property values array, which
    /// may lie in an area, and writes a fence fd where it points. The areas hold what earlier
    /// calls wrote there, so without this an earlier output that happens to be an address of
    /// this process (a timeline point, a capset word, a value echoed back) would let the kernel
    /// write into the program's own heap or stacks. Called after every ioctl, so whatever a
    /// call reads from an area is a value, an unmapped or null address, or an area.
    fn scrub(&self) -> u64 {
        let mut n = 0;
        for i in 0..2 {
            let start = self.base + i * (AREA + PAGE);
            // SAFETY: `start` is the first byte of one of the two AREA-byte read-write areas
            // of the mapping made in `new`, which is never unmapped; it is page-aligned, so
            // aligned for u64. Only this thread touches its areas, and only through this
            // temporary slice or through the kernel during this thread's own ioctls, none of
            // which is running now.
            let words = unsafe { std::slice::from_raw_parts_mut(start as *mut u64, AREA / 8) };
            for w in words.iter_mut() {
                let v = *w;
                if (0x1_0000..0x8000_0000_0000).contains(&v) && !self.contains(v) {
                    *w = self.base as u64;
                    n += 1;
                }
            }
        }
        n
    }
}

/// An ioctl of any number on an opaque argument buffer.
struct Raw<'a> {
    op: Opcode,
    buf: &'a mut [u8],
}

// SAFETY: `as_ptr` points to `buf`, which lives and is exclusively borrowed for the call and
// is as large as the opcode's size field says; the output is nothing.
unsafe impl Ioctl for Raw<'_> {
    type Output = ();
    const IS_MUTATING: bool = true;
    fn opcode(&self) -> Opcode {
        self.op
    }
    fn as_ptr(&mut self) -> *mut std::ffi::c_void {
        self.buf.as_mut_ptr().cast()
    }
    unsafe fn output_from_ptr(_: IoctlOutput, _: *mut std::ffi::c_void) -> rustix::io::Result<()> {
        Ok(())
    }
}

/// What a thread learned that makes later arguments hit existing objects.
#[derive(Default)]
struct Known {
    ids: Vec<u32>,
}

impl Known {
    fn add(&mut self, v: u32) {
        if v != 0 && !self.ids.contains(&v) {
            if self.ids.len() >= 256 {
                self.ids.remove(0);
            }
            self.ids.push(v);
        }
    }
}

fn edge32(rng: &mut Rng, known: &Known) -> u32 {
    const EDGES: [u32; 12] = [
        0,
        1,
        2,
        3,
        4,
        0x7f,
        0xff,
        0x1000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0xffff_fffe,
    ];
    match rng.below(8) {
        0..=2 if !known.ids.is_empty() => known.ids[rng.below(known.ids.len())],
        3 => rng.next() as u32,
        4 => 1 << rng.below(32),
        5 => rng.below(2048) as u32,
        _ => EDGES[rng.below(EDGES.len())],
    }
}

/// Fills an argument of `size` bytes: 8-byte slots that look like pointers (at 8-aligned
/// offsets, one time in four) get null, an unmapped page or a scratch area; the rest gets
/// edge values 4 bytes at a time.
fn fill(buf: &mut [u8], rng: &mut Rng, known: &Known, scratch: &Scratch) {
    let mut off = 0;
    while off + 4 <= buf.len() {
        if off % 8 == 0 && off + 8 <= buf.len() && rng.below(4) == 0 {
            let p: u64 = match rng.below(4) {
                0 => 0,
                1 => 0x1000,
                _ => scratch.area(rng.below(2)),
            };
            buf[off..off + 8].copy_from_slice(&p.to_ne_bytes());
            off += 8;
        } else {
            let mut v = edge32(rng, known);
            // The upper half of an 8-byte slot: never 0x5000 to 0x7fff, the top halves of the
            // addresses Linux gives a process on x86-64 (the executable and heap at
            // 0x55..., libraries, stacks and mappings at 0x7f...), so that two values side by
            // side never make a pointer into this process; they make an address above the
            // user space instead (EFAULT).
            if off % 8 == 4 && (0x5000..=0x7fff).contains(&v) {
                v += 0x8000;
            }
            buf[off..off + 4].copy_from_slice(&v.to_ne_bytes());
            off += 4;
        }
    }
}

fn opcode(nr: u8, size: usize) -> Opcode {
    // _IOWR('d', nr, size): the kernel uses the directions both it and the caller name.
    ((3u32 << 30) | ((size as u32 & 0x3fff) << 16) | (u32::from(b'd') << 8) | u32::from(nr))
        as Opcode
}

type Histogram = BTreeMap<&'static str, BTreeMap<String, u64>>;

fn errno_name(e: rustix::io::Errno) -> String {
    let io = std::io::Error::from(e);
    vgrs_guest::report::err_name(&io)
}

/// Arguments that work, or nearly: for the calls that create objects (a 32 bpp dumb buffer, a
/// 2D resource, target 2, the only one a device without virgl takes, a framebuffer on a
/// known handle), and for the virtgpu calls, whose random arguments almost never get past
/// their first check: GETPARAM of a real parameter; MAP, RESOURCE_INFO, WAIT and transfers
/// of a small box on a known handle; GET_CAPS of capset 1 or 2; EXECBUFFER of up to 256
/// bytes of commands from a scratch area (whatever earlier calls left there: the host gets
/// garbage as well as no-ops), up to 4 buffer object handles read from the other area, with
/// an out fence half the time.
fn sane(name: &str, arg: &mut [u8], rng: &mut Rng, known: &Known, scratch: &Scratch) {
    let area = scratch.area(rng.below(2));
    let other = scratch.area(rng.below(2));
    let mut put = |off: usize, v: u32| arg[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    let (w, h) = (1 + rng.below(256) as u32, 1 + rng.below(256) as u32);
    let handle = if known.ids.is_empty() {
        1
    } else {
        known.ids[rng.below(known.ids.len())]
    };
    match name {
        // struct drm_mode_create_dumb: height, width, bpp, flags, then the outputs.
        "MODE_CREATE_DUMB" => {
            for (off, v) in [(0, h), (4, w), (8, 32), (12, 0)] {
                put(off, v);
            }
        }
        // struct drm_virtgpu_resource_create: target, format (B8G8R8X8), bind (render
        // target), width, height, depth, array_size, last_level, nr_samples, flags.
        "VIRTGPU_RESOURCE_CREATE" => {
            for (off, v) in [(0, 2), (4, 2), (8, 2), (12, w), (16, h), (20, 1), (24, 1)] {
                put(off, v);
            }
            for off in [28, 32, 36, 48, 52] {
                put(off, 0);
            }
        }
        // struct drm_mode_fb_cmd2: width, height, XR24, no flags, one plane on a known handle.
        "MODE_ADDFB2" => {
            put(4, w);
            put(8, h);
            put(12, u32::from_le_bytes(*b"XR24"));
            put(16, 0);
            put(20, handle);
            put(36, w * 4);
            for off in (24..36).step_by(4).chain((40..104).step_by(4)) {
                put(off, 0);
            }
        }
        // struct drm_virtgpu_getparam: param, pad, value (a pointer).
        "VIRTGPU_GETPARAM" => {
            put(0, 1 + rng.below(8) as u32);
            put(4, 0);
            put(8, area as u32);
            put(12, (area >> 32) as u32);
        }
        // struct drm_virtgpu_map / resource_info / 3d_wait: the handle first (WAIT's NOWAIT
        // flag stays).
        "VIRTGPU_MAP" | "VIRTGPU_RESOURCE_INFO" | "VIRTGPU_WAIT" => put(0, handle),
        // struct drm_virtgpu_3d_transfer_*: handle, box (x, y, z, w, h, d), level, offset,
        // stride, layer_stride.
        "VIRTGPU_TRANSFER_TO_HOST" | "VIRTGPU_TRANSFER_FROM_HOST" => {
            let bx = [
                0,
                0,
                0,
                1 + rng.below(16) as u32,
                1 + rng.below(16) as u32,
                1,
            ];
            put(0, handle);
            for (i, v) in bx.into_iter().enumerate() {
                put(4 + 4 * i, v);
            }
            for off in [28, 32, 36, 40] {
                put(off, 0);
            }
        }
        // struct drm_virtgpu_get_caps: cap_set_id, cap_set_ver, addr, size, pad.
        "VIRTGPU_GET_CAPS" => {
            put(0, 1 + rng.below(2) as u32);
            put(4, rng.below(3) as u32);
            put(8, area as u32);
            put(12, (area >> 32) as u32);
            put(16, rng.below(AREA) as u32);
            put(20, 0);
        }
        // struct drm_virtgpu_execbuffer (the 48 bytes before the syncobj fields, which stay
        // 0): flags (0 or FENCE_FD_OUT), size, command, bo_handles, num_bo_handles,
        // fence_fd, ring_idx, syncobj_stride, num_in_syncobjs, num_out_syncobjs.
        "VIRTGPU_EXECBUFFER" => {
            put(0, if rng.below(2) == 0 { 0 } else { 2 });
            put(4, 4 * rng.below(65) as u32);
            put(8, area as u32);
            put(12, (area >> 32) as u32);
            put(16, other as u32);
            put(20, (other >> 32) as u32);
            put(24, rng.below(5) as u32);
            put(28, u32::MAX);
            for off in [32, 36, 40, 44] {
                put(off, 0);
            }
        }
        _ => {}
    }
}

/// One thread's run: `iters` calls on its own files.
fn run(seed: u64, iters: u64, hist: &Mutex<Histogram>, start_ids: &[u32]) -> Result<u64, String> {
    let Some(mut files) = reopen(None)? else {
        GONE.fetch_add(1, Ordering::Relaxed);
        return Ok(0);
    };
    let scratch = Scratch::new().map_err(|e| format!("scratch mapping: {e}"))?;
    let mut rng = Rng::new(seed);
    let mut known = Known::default();
    for &id in start_ids {
        known.add(id);
    }
    let mut local: Histogram = BTreeMap::new();
    let mut buf = [0u8; 128];
    for i in 0..iters {
        let desc = &TABLE[rng.below(TABLE.len())];
        let file = &files[rng.below(files.len())];
        let arg = &mut buf[..desc.size.max(8)];
        fill(arg, &mut rng, &known, &scratch);
        for &z in desc.zero {
            arg[z..z + 4].fill(0);
        }
        for &(c, max) in desc.clamp {
            let v = u32::from_ne_bytes([arg[c], arg[c + 1], arg[c + 2], arg[c + 3]]);
            let v = v % max.saturating_add(1);
            arg[c..c + 4].copy_from_slice(&v.to_ne_bytes());
        }
        if desc.name == "VIRTGPU_WAIT" {
            arg[4..8].copy_from_slice(&1u32.to_ne_bytes());
        }
        // Half the time, a creating call gets arguments that work, so that objects exist
        // for the other calls to name and the driver's deeper paths (and their allocations,
        // under fault injection) are reached.
        if rng.below(2) == 0 {
            sane(desc.name, arg, &mut rng, &known, &scratch);
        }
        let r = {
            let raw = Raw {
                op: opcode(desc.nr, desc.size),
                buf: &mut arg[..desc.size],
            };
            // SAFETY: `Raw` hands the kernel `arg`, a buffer of the size the opcode names; every
            // pointer the buffer holds is null, the unmapped first pages, a scratch area
            // followed by an inaccessible page, or two edge values side by side (never an
            // address of this process: see `fill`); the areas hold no address of this
            // process either (`Scratch::scrub` after every call), so the
            // kernel can write nowhere else in this process, through an argument's pointer or
            // through one it reads from an area.
            unsafe { rustix::ioctl::ioctl(file.as_fd(), raw) }
        };
        let key = match r {
            Ok(()) => {
                // Harvest what came back: handles and ids the next calls can name.
                // (16 words: RESOURCE_CREATE's handles are at 40 and 44)
                for w in arg[..desc.size].chunks_exact(4).take(16) {
                    let v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]);
                    if v < 0x10000 {
                        known.add(v);
                    }
                }
                "ok".to_string()
            }
            Err(e) => errno_name(e),
        };
        *local.entry(desc.name).or_default().entry(key).or_default() += 1;
        let scrubbed = scratch.scrub();
        if scrubbed > 0 {
            *local
                .entry(desc.name)
                .or_default()
                .entry("scrubbed".to_string())
                .or_default() += scrubbed;
        }
        // Now and then: descriptors the fuzzed calls made (dma-bufs, sync files, syncobj and
        // lease fds) are closed, and the files reopened, which frees the objects they made, so
        // the run runs out of neither.
        if i % 128 == 127 {
            close_stray();
            match reopen(Some(files))? {
                Some(f) => files = f,
                None => {
                    // `--until-gone`: the device went for good; the run ends here.
                    GONE.fetch_add(1, Ordering::Relaxed);
                    merge(hist, local)?;
                    return Ok(i + 1);
                }
            }
        }
    }
    close_stray();
    drop(open_files(Some(files)));
    merge(hist, local)?;
    Ok(iters)
}

/// Adds a thread's counts to the program's histogram.
fn merge(hist: &Mutex<Histogram>, local: Histogram) -> Result<(), String> {
    let mut h = hist
        .lock()
        .map_err(|_| "histogram lock poisoned".to_string())?;
    for (name, m) in local {
        let e = h.entry(name).or_default();
        for (k, v) in m {
            *e.entry(k).or_default() += v;
        }
    }
    Ok(())
}

/// `--card`: the fixed primary and render nodes, set once at start.
static CARD: OnceLock<(String, String)> = OnceLock::new();
/// `--until-gone`.
static UNTIL_GONE: AtomicBool = AtomicBool::new(false);
/// `--until-gone`: the threads that ended their run because the device went.
static GONE: AtomicUsize = AtomicUsize::new(0);

/// The render node of primary node `card` (`/dev/dri/cardN`), from sysfs.
fn render_of(card: &str) -> Option<String> {
    let name = card.rsplit('/').next()?;
    std::fs::read_dir(format!("/sys/class/drm/{name}/device/drm"))
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .find(|n| n.starts_with("renderD"))
        .map(|n| format!("/dev/dri/{n}"))
}

/// The program's own descriptors: those open at start and every thread's current files.
/// Held while files are opened or closed and while stray descriptors are closed.
static OURS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Opens a thread's files (the primary node twice, the render node), closing `old` first;
/// both under the registry lock. With `old` and a failure to open, returns the error.
fn open_files(old: Option<[OwnedFd; 3]>) -> Result<[OwnedFd; 3], String> {
    let mut ours = OURS
        .lock()
        .map_err(|_| "fd registry poisoned".to_string())?;
    if let Some(old) = old {
        close_files(&mut ours, old);
    }
    let open = |p: &str| -> Result<OwnedFd, String> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .open(p)
            .map(OwnedFd::from)
            .map_err(|e| format!("{p}: {e}"))
    };
    // The device's nodes: after an unbind and bind, stale files keep the old minors, so the
    // new device may be card1 and renderD129.
    let (card, render) = match CARD.get() {
        Some(fixed) => fixed.clone(),
        None => nodes().ok_or("no /dev/dri/card* and renderD* node")?,
    };
    let files = [open(&card)?, open(&card)?, open(&render)?];
    ours.extend(files.iter().map(|f| f.as_raw_fd()));
    Ok(files)
}

/// Takes a thread's files out of the fd registry `ours` (its locked contents) and closes
/// them, under the lock: a number out of the registry but still open would be another
/// thread's [`close_stray`]'s to close.
fn close_files(ours: &mut Vec<i32>, old: [OwnedFd; 3]) {
    for f in old {
        let fd = f.as_raw_fd();
        ours.retain(|&o| o != fd);
    }
}

/// The first primary and render nodes in /dev/dri.
fn nodes() -> Option<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir("/dev/dri")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    let card = names.iter().find(|n| n.starts_with("card"))?;
    let render = names.iter().find(|n| n.starts_with("renderD"))?;
    Some((format!("/dev/dri/{card}"), format!("/dev/dri/{render}")))
}

/// [`open_files`], retrying for up to 30 s while the device is away (the scenario unbinds
/// and binds it, and removes the PCI device and rescans, during a run) or an open fails (the
/// fault-injection run fails the driver's allocations, its file-open ones too). `None` with
/// `--until-gone` once the `--card` node is gone: the old files are closed then.
fn reopen(mut old: Option<[OwnedFd; 3]>) -> Result<Option<[OwnedFd; 3]>, String> {
    let mut last = String::new();
    for _ in 0..600 {
        let gone = UNTIL_GONE.load(Ordering::Relaxed)
            && CARD
                .get()
                .is_some_and(|(card, _)| !std::path::Path::new(card).exists());
        if gone {
            if let Some(old) = old.take() {
                let mut ours = OURS
                    .lock()
                    .map_err(|_| "fd registry poisoned".to_string())?;
                close_files(&mut ours, old);
            }
            return Ok(None);
        }
        match open_files(old.take()) {
            Ok(f) => return Ok(Some(f)),
            Err(e) => last = e,
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Err(format!("reopening the device's files for 30 s: {last}"))
}

/// Closes the descriptors above 2 that are not the program's own (`OURS`): those fuzzed calls
/// made. Under the registry lock, so no thread opens or closes its files meanwhile.
fn close_stray() {
    let Ok(ours) = OURS.lock() else {
        return;
    };
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
        .collect();
    // The listing's own descriptor closed when `read_dir` finished (`is_open` says so).
    for fd in fds {
        if fd > 2 && !ours.contains(&fd) && is_open(fd) {
            // SAFETY: `fd` is open (just checked) and none of the program's own descriptors
            // (`OURS`, with the registry lock held, so none is being opened or closed): a
            // fuzzed ioctl installed it in this process and nothing owns it, so this is its
            // only close.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
}

/// Whether `fd` is an open descriptor of this process.
fn is_open(fd: i32) -> bool {
    rustix::io::fcntl_getfd(
        // SAFETY: `fcntl(F_GETFD)` only asks about the number; if it is not open the kernel
        // answers EBADF, and nothing is read or closed through the borrow.
        unsafe { BorrowedFd::borrow_raw(fd) },
    )
    .is_ok()
}

/// The KMS object ids of the device (CRTCs, connectors, encoders, planes), for arguments.
fn kms_ids() -> Vec<u32> {
    let Ok(f) = OpenOptions::new()
        .read(true)
        .write(true)
        .open(CARD.get().map_or("/dev/dri/card0", |c| c.0.as_str()))
    else {
        return Vec::new();
    };
    let fd = f.as_fd();
    let (mut crtcs, mut conns, mut encs) = (Vec::new(), Vec::new(), Vec::new());
    let _ = drm_ffi::mode::get_resources(
        fd,
        None,
        Some(&mut crtcs),
        Some(&mut conns),
        Some(&mut encs),
    );
    let mut planes = Vec::new();
    let _ = drm_ffi::set_capability(fd, 2, true);
    let _ = drm_ffi::mode::get_plane_resources(fd, Some(&mut planes));
    let mut ids = crtcs;
    ids.extend(conns);
    ids.extend(encs);
    ids.extend(planes);
    ids
}

fn main() {
    let mut seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let (mut iters, mut threads, mut label) = (2000u64, 3usize, "?".to_string());
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        // `--until-gone` is a flag; every other option takes a value.
        if a == "--until-gone" {
            UNTIL_GONE.store(true, Ordering::Relaxed);
            continue;
        }
        let v = it.next();
        let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok());
        match (a.as_str(), &v) {
            ("--seed", _) if num(&v).is_some() => seed = num(&v).unwrap_or(seed),
            ("--iters", _) if num(&v).is_some() => iters = num(&v).unwrap_or(iters),
            ("--threads", _) if num(&v).is_some() => threads = num(&v).unwrap_or(3) as usize,
            ("--label", Some(l)) => label = l.clone(),
            ("--card", Some(c)) => {
                let Some(render) = render_of(c) else {
                    eprintln!("vgrs-fuzz: no render node for {c} in /sys/class/drm");
                    std::process::exit(2);
                };
                let _ = CARD.set((c.clone(), render));
            }
            _ => {
                eprintln!(
                    "usage: vgrs-fuzz [--seed N] [--iters N] [--threads N] [--label L] \
                     [--card PATH] [--until-gone]"
                );
                std::process::exit(2);
            }
        }
    }
    println!("FUZZ {label} seed {seed}, {threads} threads x {iters} ioctls");
    let start: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    if let Ok(mut ours) = OURS.lock() {
        ours.extend(start);
    }
    let ids = Arc::new(kms_ids());
    let hist = Arc::new(Mutex::new(Histogram::new()));
    let handles: Vec<_> = (0..threads.max(1))
        .map(|t| {
            let (hist, ids) = (hist.clone(), ids.clone());
            let s = seed.wrapping_add(t as u64);
            std::thread::spawn(move || run(s, iters, &hist, &ids))
        })
        .collect();
    let mut total = 0;
    let mut failed = false;
    for h in handles {
        match h.join() {
            Ok(Ok(n)) => total += n,
            Ok(Err(e)) => {
                eprintln!("vgrs-fuzz: {e}");
                failed = true;
            }
            Err(_) => {
                eprintln!("vgrs-fuzz: a thread panicked");
                failed = true;
            }
        }
    }
    if let Ok(h) = hist.lock() {
        for (name, m) in h.iter() {
            let cells: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            println!("HIST {label} {name} {}", cells.join(" "));
        }
    }
    let gone = GONE.load(Ordering::Relaxed);
    if gone > 0 {
        println!("FUZZ {label} device gone: {gone} of {threads} threads ended their run early");
    }
    println!("FUZZ {label} {total} ioctls, seed {seed}");
    std::process::exit(if failed { 1 } else { 0 });
}
