// SPDX-License-Identifier: GPL-2.0

//! Fuzzes `gpu/timeline.rs`, the order in which the fence driver signals fences: fenced
//! submissions on four timelines and device answers late, repeated, out of order, for ids
//! never given or taken back, and the device going away, all checked step by step against
//! the reference model of `tests/host/src/fence_model.rs`.

#![no_main]

#[path = "../../../../drivers/gpu/drm/virtio_rs/gpu/timeline.rs"]
mod timeline;

#[path = "../../src/fence_model.rs"]
#[allow(dead_code)]
mod fence_model;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fence_model::FenceSim::new().run(data);
});
