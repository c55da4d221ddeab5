//! Throughput of the DATA receiver on a 13.7 MB message, fed in 64 KiB
//! chunks, with the default limits of a session. The message is a short
//! header and a body of base64 in 76-character lines, or, for comparison, of
//! plain text with a `.` in every sentence and dot-stuffed lines.
//!
//! Run with `cargo bench -p mailgate-smtp --bench data_receiver`; results and
//! the machine they were measured on are in `docs/benchmarks.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailgate_smtp::protocol::{DataLimits, DataReceiver, SessionConfig};

/// Minimum size of the data in bytes, header and line ends included.
const MESSAGE_SIZE: usize = 13_700_000;

/// Bytes handed to the receiver per `feed` call.
const CHUNK_SIZE: usize = 64 * 1024;

/// Builds the data as a client sends it: header, base64 body in lines of 76
/// characters plus CR LF, and the end marker.
fn base64_message() -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    let mut data = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: report\r\n\
        MIME-Version: 1.0\r\nContent-Type: application/pdf\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    let mut state: u32 = 1;
    while data.len() < MESSAGE_SIZE {
        for _ in 0..76 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(ALPHABET[(state >> 26) as usize]);
        }
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");

    data
}

/// Builds the data of a plain text message: lines of up to 72 characters
/// with a `.` in every sentence, and every 20th line starting with `.`,
/// which the client doubles.
fn text_message() -> Vec<u8> {
    const WORDS: [&str; 12] = [
        "the", "gateway", "checks", "each", "message.", "Rules", "run", "on", "every", "part.",
        "A", "report",
    ];

    let mut data = b"From: alice@example.com\r\nSubject: notes\r\n\r\n".to_vec();
    let mut word = 0;
    let mut line = 0;
    while data.len() < MESSAGE_SIZE {
        let mut text = String::new();
        if line % 20 == 0 {
            text.push_str("..");
        }
        while text.len() < 64 {
            text.push_str(WORDS[word % WORDS.len()]);
            text.push(' ');
            word += 7;
        }
        data.extend_from_slice(text.trim_end().as_bytes());
        data.extend_from_slice(b"\r\n");
        line += 1;
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
    let mut group = criterion.benchmark_group("data_receiver");
    group.sample_size(20);

    for (name, data) in [("base64", base64_message()), ("text", text_message())] {
        group.throughput(Throughput::Bytes(data.len() as u64));

        group.bench_function(format!("{name}/no_size"), |bencher| {
            bencher.iter(|| receive(DataReceiver::with_limits(limits()), &data))
        });

        // As after MAIL FROM with `SIZE=` of the data length, a few bytes
        // above the message size.
        group.bench_function(format!("{name}/declared_size"), |bencher| {
            bencher.iter(|| {
                let mut receiver = DataReceiver::with_limits(limits());
                receiver.reserve(data.len());
                receive(receiver, &data)
            })
        });
    }

    group.finish();
}

criterion_group!(benches, data_receiver);
criterion_main!(benches);
