// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/config.rs`.

use crate::config::*;

#[test]
fn features_display_like_the_c_driver() {
    let f = Features(1 << F_EDID);
    assert_eq!(
        f.to_string(),
        "-virgl +edid -resource_uuid -resource_blob -context_init"
    );
    let all = Features(0x1f | 1 << F_VERSION_1);
    assert_eq!(
        all.to_string(),
        "+virgl +edid +resource_uuid +resource_blob +context_init"
    );
}

#[test]
fn feature_bits_out_of_range_are_absent() {
    let f = Features(u64::MAX);
    assert!(f.has(63));
    assert!(!f.has(64));
    assert!(!f.has(u32::MAX));
}

#[test]
fn scanout_count_is_validated() {
    assert_eq!(check_num_scanouts(0), None);
    assert_eq!(check_num_scanouts(1), Some(1));
    assert_eq!(check_num_scanouts(16), Some(16));
    assert_eq!(check_num_scanouts(17), None);
    assert_eq!(check_num_scanouts(u32::MAX), None);
}

#[test]
fn config_layout_is_the_specs() {
    // struct virtio_gpu_config { le32 events_read, events_clear, num_scanouts, num_capsets }
    assert_eq!(
        [EVENTS_READ, EVENTS_CLEAR, NUM_SCANOUTS, NUM_CAPSETS],
        [0, 4, 8, 12]
    );
    assert_eq!(CONFIG_SIZE, 16);
}

#[test]
fn driver_offers_only_what_it_implements() {
    // EDID, 3D (virgl: capsets, contexts, submission, fences) and context init (context
    // types, rings); no blobs or UUIDs until the driver has them (GETPARAM stays truthful).
    assert!(DRIVER_FEATURES.contains(&F_EDID));
    assert!(DRIVER_FEATURES.contains(&F_VIRGL));
    assert!(DRIVER_FEATURES.contains(&F_CONTEXT_INIT));
    for bit in [F_RESOURCE_BLOB, F_RESOURCE_UUID] {
        assert!(!DRIVER_FEATURES.contains(&bit));
    }
}
