//! Feeds arbitrary bytes to the DATA receiver, whole and split in two, and
//! checks that both give the same result, that stored and allocated bytes
//! stay within the message size limit and that nothing after the end marker
//! is consumed.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mailgate_smtp::protocol::{DataLimits, DataReceiver};

const LIMITS: DataLimits = DataLimits {
    max_message_size: 2048,
    max_header_size: 256,
    max_line_length: 1000,
};

fuzz_target!(|input: &[u8]| {
    let [split, data @ ..] = input else {
        return;
    };
    let split = usize::from(*split).min(data.len());

    let mut whole = DataReceiver::with_limits(LIMITS);
    let whole_progress = whole.feed(data);
    assert!(whole_progress.consumed <= data.len());
    assert!(whole.stored() <= LIMITS.max_message_size);
    assert!(whole.capacity() <= LIMITS.max_message_size);
    if whole_progress.complete {
        assert_eq!(whole.feed(b"more").consumed, 0);
        assert!(
            data[..whole_progress.consumed].ends_with(b"\r\n.\r\n") || whole_progress.consumed == 3
        );
    }

    let mut pieces = DataReceiver::with_limits(LIMITS);
    let first = pieces.feed(&data[..split]);
    let mut consumed = first.consumed;
    if !first.complete {
        consumed += pieces.feed(&data[split..]).consumed;
    }
    assert!(pieces.stored() <= LIMITS.max_message_size);
    assert!(pieces.capacity() <= LIMITS.max_message_size);

    assert_eq!(consumed, whole_progress.consumed);
    assert_eq!(pieces.finish(), whole.finish());
});
