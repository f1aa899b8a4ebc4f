// SPDX-License-Identifier: GPL-2.0

//! Tests of `gpu/ctxinit.rs` against the 6.12 C driver's `virtio_gpu_context_init_ioctl`
//! (drivers/gpu/drm/virtio/virtgpu_ioctl.c) and its EXECBUFFER ring check: which requests are
//! refused, with which error, and what a good one sets. QEMU 7.2 offers no context init, so
//! these rules are tested here only.

use crate::ctxinit::*;

/// Capsets 1 (VIRGL) and 2 (VIRGL2), as QEMU offers them.
const MASK: u64 = 0b110;

fn name(s: &str) -> [u8; DEBUG_NAME_MAX_LEN] {
    let mut n = [0u8; DEBUG_NAME_MAX_LEN];
    n[..s.len()].copy_from_slice(s.as_bytes());
    n
}

fn no_name(_: u64) -> Option<[u8; DEBUG_NAME_MAX_LEN]> {
    panic!("the debug name must not be read")
}

fn parse_ok(params: &[(u64, u64)]) -> ContextParams {
    parse(params, MASK, |_| Some(name("mesa"))).expect("a good request")
}

#[test]
fn empty_request_sets_defaults() {
    let p = parse(&[], MASK, no_name).unwrap();
    assert_eq!(p, ContextParams::default());
    assert_eq!(p.context_init(), 0);
    assert_eq!(p.name(), None);
}

#[test]
fn capset_id_must_be_offered_and_at_most_63() {
    assert_eq!(parse_ok(&[(PARAM_CAPSET_ID, 2)]).capset_id, 2);
    assert_eq!(parse_ok(&[(PARAM_CAPSET_ID, 2)]).context_init(), 2);
    // Not offered by the host.
    assert_eq!(
        parse(&[(PARAM_CAPSET_ID, 3)], MASK, no_name),
        Err(InitError::Invalid)
    );
    assert_eq!(
        parse(&[(PARAM_CAPSET_ID, 0)], MASK, no_name),
        Err(InitError::Invalid)
    );
    // Beyond MAX_CAPSET_ID (no shift overflow), even if every bit of the mask is set.
    assert_eq!(
        parse(&[(PARAM_CAPSET_ID, 64)], u64::MAX, no_name),
        Err(InitError::Invalid)
    );
    assert_eq!(
        parse(&[(PARAM_CAPSET_ID, u64::MAX)], u64::MAX, no_name),
        Err(InitError::Invalid)
    );
    assert_eq!(
        parse(&[(PARAM_CAPSET_ID, 63)], u64::MAX, no_name)
            .unwrap()
            .capset_id,
        63
    );
}

#[test]
fn each_parameter_only_once() {
    let twice = |p: u64, v: u64| parse(&[(p, v), (p, v)], MASK, |_| Some(name("x")));
    assert_eq!(twice(PARAM_CAPSET_ID, 1), Err(InitError::Invalid));
    assert_eq!(twice(PARAM_NUM_RINGS, 2), Err(InitError::Invalid));
    assert_eq!(twice(PARAM_NUM_RINGS, 0), Err(InitError::Invalid));
    assert_eq!(twice(PARAM_POLL_RINGS_MASK, 1), Err(InitError::Invalid));
    assert_eq!(twice(PARAM_DEBUG_NAME, 0x1000), Err(InitError::Invalid));
    // A zero poll mask counts as not given (the C driver tests the mask, not a flag).
    assert!(parse(
        &[(PARAM_POLL_RINGS_MASK, 0), (PARAM_POLL_RINGS_MASK, 0)],
        MASK,
        no_name
    )
    .is_ok());
}

#[test]
fn rings_at_most_64_and_poll_mask_within_them() {
    assert_eq!(parse_ok(&[(PARAM_NUM_RINGS, 64)]).num_rings, Some(64));
    assert_eq!(parse_ok(&[(PARAM_NUM_RINGS, 0)]).num_rings, Some(0));
    assert_eq!(
        parse(&[(PARAM_NUM_RINGS, 65)], MASK, no_name),
        Err(InitError::Invalid)
    );
    let p = parse_ok(&[(PARAM_NUM_RINGS, 2), (PARAM_POLL_RINGS_MASK, 0b11)]);
    assert_eq!((p.num_rings, p.poll_rings_mask), (Some(2), 0b11));
    // The mask may come first: it is checked once all parameters are in.
    assert!(parse(
        &[(PARAM_POLL_RINGS_MASK, 0b1), (PARAM_NUM_RINGS, 1)],
        MASK,
        no_name
    )
    .is_ok());
    assert_eq!(
        parse(
            &[(PARAM_NUM_RINGS, 2), (PARAM_POLL_RINGS_MASK, 0b100)],
            MASK,
            no_name
        ),
        Err(InitError::Invalid)
    );
    assert_eq!(
        parse(&[(PARAM_POLL_RINGS_MASK, 1)], MASK, no_name),
        Err(InitError::Invalid)
    );
    // 64 rings: every bit is a ring (no shift overflow).
    assert!(parse(
        &[(PARAM_NUM_RINGS, 64), (PARAM_POLL_RINGS_MASK, u64::MAX)],
        MASK,
        no_name
    )
    .is_ok());
}

#[test]
fn debug_name_is_read_and_faults_are_efault() {
    let p = parse_ok(&[(PARAM_DEBUG_NAME, 0x1000)]);
    assert_eq!(p.name(), Some(&b"mesa"[..]));
    assert_eq!(
        parse(&[(PARAM_DEBUG_NAME, 0)], MASK, |_| None),
        Err(InitError::Fault)
    );
    // A name of 63 bytes and its terminator fill the buffer.
    let long = name(&"n".repeat(63));
    let p = parse(&[(PARAM_DEBUG_NAME, 8)], MASK, |_| Some(long)).unwrap();
    assert_eq!(p.name().map(<[u8]>::len), Some(63));
}

#[test]
fn unknown_parameter_and_first_error_wins() {
    assert_eq!(parse(&[(5, 0)], MASK, no_name), Err(InitError::Invalid));
    assert_eq!(parse(&[(0, 0)], MASK, no_name), Err(InitError::Invalid));
    // The C driver stops at the first bad parameter: a fault before an invalid one is EFAULT,
    // an invalid one before a name never reads the name.
    assert_eq!(
        parse(&[(PARAM_DEBUG_NAME, 0), (9, 0)], MASK, |_| None),
        Err(InitError::Fault)
    );
    assert_eq!(
        parse(&[(9, 0), (PARAM_DEBUG_NAME, 0)], MASK, no_name),
        Err(InitError::Invalid)
    );
}

#[test]
fn ring_index_must_be_below_the_ring_count() {
    let none = ContextParams::default();
    assert_eq!(check_ring(&none, 0), None);
    let p = parse_ok(&[(PARAM_NUM_RINGS, 3)]);
    assert_eq!(check_ring(&p, 0), Some(0));
    assert_eq!(check_ring(&p, 2), Some(2));
    assert_eq!(check_ring(&p, 3), None);
    assert_eq!(check_ring(&p, u32::MAX), None);
    let zero = parse_ok(&[(PARAM_NUM_RINGS, 0)]);
    assert_eq!(check_ring(&zero, 0), None);
}
