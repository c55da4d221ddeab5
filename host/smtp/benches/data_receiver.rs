//! Throughput of the DATA receiver on a large message: a short header and
//! about 13.7 MB of base64 in 76-character lines, fed in 64 KiB chunks as a
//! socket read would deliver them, with the default limits of a session.
//!
//! Run with `cargo bench -p mailgate-smtp --bench data_receiver`; results and
//! the machine they were measured on are in `docs/benchmarks.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailgate_smtp::protocol::{DataLimits, DataReceiver, SessionConfig};

/// Size of the base64 body in bytes, line ends included.
const BODY_SIZE: usize = 13_700_000;

/// Bytes handed to the receiver per `feed` call.
const CHUNK_SIZE: usize = 64 * 1024;

/// Builds the data as a client sends it: header, base64 body in lines of 76
/// characters plus CR LF, and the end marker.
fn message() -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    let mut data = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: report\r\n\
        MIME-Version: 1.0\r\nContent-Type: application/pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let mut state: u32 = 1;
    while data.len() < BODY_SIZE {
        for _ in 0..76 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(ALPHABET[(state >> 26) as usize]);
        }
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");

    data
}

fn limits() -> DataLimits {
    let config = SessionConfig::default();

    DataLimits {
        max_message_size: config.max_message_size,
        max_header_size: config.max_header_size,
        max_line_length: config.max_data_line_length,
    }
}

/// Feeds `data` in chunks to `receiver` and returns the message size.
fn receive(mut receiver: DataReceiver, data: &[u8]) -> usize {
    for chunk in data.chunks(CHUNK_SIZE) {
        let progress = receiver.feed(black_box(chunk));
        if progress.complete {
            break;
        }
    }

    receiver.finish().expect("message within the limits").len()
}

fn data_receiver(criterion: &mut Criterion) {
    let data = message();
    let mut group = criterion.benchmark_group("data_receiver");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);

    group.bench_function("base64_64k_chunks", |bencher| {
        bencher.iter(|| receive(DataReceiver::with_limits(limits()), &data))
    });

    group.finish();
}

criterion_group!(benches, data_receiver);
criterion_main!(benches);
