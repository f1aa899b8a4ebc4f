// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/dumb.rs`, `gpu/idalloc.rs` and `gpu/params.rs`.

use crate::dumb::{layout, DumbError, DumbLayout, MAX_DIM, PAGE_SIZE};
use crate::idalloc::IdAllocator;
use crate::params::*;

#[test]
fn dumb_layout_of_common_modes() {
    assert_eq!(
        layout(1024, 768, 32),
        Ok(DumbLayout {
            pitch: 4096,
            size: 4096 * 768
        })
    );
    // 1 x 1 still takes a page.
    assert_eq!(
        layout(1, 1, 32),
        Ok(DumbLayout {
            pitch: 4,
            size: PAGE_SIZE
        })
    );
    // Sizes are whole pages.
    let l = layout(1023, 3, 32).unwrap();
    assert_eq!(l.pitch, 4092);
    assert_eq!(l.size % PAGE_SIZE, 0);
    assert!(l.size >= 4092 * 3);
}

#[test]
fn dumb_layout_rejects_bad_requests() {
    for bpp in [0, 8, 16, 24, 33, 64, u32::MAX] {
        assert_eq!(layout(64, 64, bpp), Err(DumbError::Bpp), "bpp {bpp}");
    }
    assert_eq!(layout(0, 64, 32), Err(DumbError::Empty));
    assert_eq!(layout(64, 0, 32), Err(DumbError::Empty));
    assert_eq!(layout(MAX_DIM + 1, 1, 32), Err(DumbError::TooLarge));
    assert_eq!(layout(1, u32::MAX, 32), Err(DumbError::TooLarge));
    assert_eq!(layout(u32::MAX, u32::MAX, 32), Err(DumbError::TooLarge));
    // The largest accepted buffer: 16384 x 16384 x 4 = 1 GiB, no overflow.
    assert_eq!(layout(MAX_DIM, MAX_DIM, 32).unwrap().size, 1 << 30);
}

#[test]
fn dumb_layout_never_overflows() {
    // Every accepted (width, height) on a coarse grid gives pitch * height <= size.
    for w in (1..=MAX_DIM).step_by(997) {
        for h in (1..=MAX_DIM).step_by(1009) {
            let l = layout(w, h, 32).unwrap();
            assert_eq!(l.pitch, w * 4);
            assert!(l.size >= u64::from(l.pitch) * u64::from(h));
            assert!(l.size - u64::from(l.pitch) * u64::from(h) < PAGE_SIZE);
        }
    }
}

#[test]
fn ids_start_at_1_and_exhaust_cleanly() {
    let mut a = IdAllocator::new(vec![u64::MAX; 2]);
    assert_eq!(a.capacity(), 128);
    let ids: Vec<u32> = (0..128).map(|_| a.alloc().unwrap()).collect();
    assert_eq!(ids, (1..=128).collect::<Vec<_>>());
    assert_eq!(a.used(), 128);
    // Exhausted: a clean `None`, repeatedly.
    assert_eq!(a.alloc(), None);
    assert_eq!(a.alloc(), None);
    assert!(a.free(77));
    assert_eq!(a.alloc(), Some(77));
}

#[test]
fn freed_ids_are_not_reused_at_once() {
    let mut a = IdAllocator::new(vec![0u64; 1]);
    let first = a.alloc().unwrap();
    assert!(a.free(first));
    // The next id is a new one, not the one just freed.
    let second = a.alloc().unwrap();
    assert_ne!(first, second);
    // After wrapping around, freed ids come back.
    for _ in 0..62 {
        a.alloc().unwrap();
    }
    assert_eq!(a.alloc(), Some(first));
    assert_eq!(a.alloc(), None);
}

#[test]
fn bad_and_double_frees_are_refused() {
    let mut a = IdAllocator::new(vec![0u64; 1]);
    let id = a.alloc().unwrap();
    assert!(!a.free(0), "id 0 means no resource");
    assert!(!a.free(65), "past the bitmap");
    assert!(!a.free(u32::MAX));
    assert!(!a.free(id + 1), "never allocated");
    assert!(a.free(id));
    assert!(!a.free(id), "double free");
    assert_eq!(a.used(), 0);
}

#[test]
fn getparam_is_truthful_without_3d() {
    let caps = Caps::default();
    assert_eq!(getparam(&caps, PARAM_3D_FEATURES), Some(0));
    assert_eq!(getparam(&caps, PARAM_CAPSET_QUERY_FIX), Some(1));
    assert_eq!(getparam(&caps, PARAM_RESOURCE_BLOB), Some(0));
    assert_eq!(getparam(&caps, PARAM_HOST_VISIBLE), Some(0));
    assert_eq!(getparam(&caps, PARAM_CROSS_DEVICE), Some(0));
    assert_eq!(getparam(&caps, PARAM_CONTEXT_INIT), Some(0));
    assert_eq!(getparam(&caps, PARAM_SUPPORTED_CAPSET_IDS), Some(0));
    assert_eq!(getparam(&caps, PARAM_EXPLICIT_DEBUG_NAME), Some(0));
}

#[test]
fn getparam_reports_what_caps_say() {
    let caps = Caps {
        virgl: true,
        resource_blob: true,
        host_visible: false,
        resource_uuid: true,
        context_init: true,
        capset_mask: 0b110,
    };
    assert_eq!(getparam(&caps, PARAM_3D_FEATURES), Some(1));
    assert_eq!(getparam(&caps, PARAM_RESOURCE_BLOB), Some(1));
    assert_eq!(getparam(&caps, PARAM_HOST_VISIBLE), Some(0));
    assert_eq!(getparam(&caps, PARAM_CROSS_DEVICE), Some(1));
    assert_eq!(getparam(&caps, PARAM_SUPPORTED_CAPSET_IDS), Some(6));
}

#[test]
fn unknown_params_are_refused() {
    let caps = Caps::default();
    for p in [0, 9, 10, 100, u64::MAX, 1 << 32 | 1] {
        assert_eq!(getparam(&caps, p), None, "param {p}");
    }
}
