//! The messages of a load run: the same text of a set size for every
//! message, with its number in `X-Load-Id` and in the Message-ID. The
//! offload and memory benchmarks send one message with a random file as
//! its attachment instead.

use base64::Engine;
use base64::prelude::BASE64_STANDARD;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::sink::LOAD_ID_HEADER;

/// Length of each body line, without CR LF.
const LINE_LENGTH: usize = 76;

/// Builds the dot-stuffed DATA of message `id`, ending with `CR LF . CR LF`,
/// about `size` bytes long. With `attachment` above zero, the message is
/// `multipart/mixed` with a base64 PDF attachment of that many decoded bytes.
pub fn data(id: usize, size: usize, attachment: usize) -> Vec<u8> {
    let mut message = format!(
        "From: Load Sender <sender@load.test>\r\n\
         To: Load Recipient <recipient@load.test>\r\n\
         Subject: Load test message {id}\r\n\
         Message-ID: <load-{id}@load.test>\r\n\
         Date: Fri, 4 Dec 2026 12:00:00 +0000\r\n\
         {LOAD_ID_HEADER}: {id}\r\n\
         MIME-Version: 1.0\r\n"
    );

    if attachment == 0 {
        message.push_str("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        push_text(&mut message, size);
    } else {
        message.push_str("Content-Type: multipart/mixed; boundary=\"load-boundary\"\r\n\r\n");
        message.push_str("--load-boundary\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
        push_text(&mut message, size.saturating_sub(attachment * 4 / 3));
        message.push_str("--load-boundary\r\nContent-Type: application/pdf\r\n");
        message.push_str("Content-Disposition: attachment; filename=\"report.pdf\"\r\n");
        message.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
        push_base64_filler(&mut message, attachment);
        message.push_str("--load-boundary--\r\n");
    }

    message.push_str(".\r\n");
    message.into_bytes()
}

/// Builds the DATA of message `id` with `file` as a base64 attachment
/// named `file_name`, after a one-line text body, ending with
/// `CR LF . CR LF`. No line of base64 starts with a dot, so the data needs
/// no dot-stuffing.
pub fn with_file(id: usize, file_name: &str, file: &[u8]) -> Vec<u8> {
    let mut message = format!(
        "From: Load Sender <sender@load.test>\r\n\
         To: Load Recipient <recipient@load.test>\r\n\
         Subject: Offload test message {id}\r\n\
         Message-ID: <offload-{id}@load.test>\r\n\
         Date: Fri, 4 Dec 2026 12:00:00 +0000\r\n\
         {LOAD_ID_HEADER}: {id}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"load-boundary\"\r\n\r\n\
         --load-boundary\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\n\
         The attachment of this message goes to the vault.\r\n\
         --load-boundary\r\n\
         Content-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"{file_name}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );

    let encoded = BASE64_STANDARD.encode(file);
    message.reserve(encoded.len() / LINE_LENGTH * (LINE_LENGTH + 2) + 64);
    for chunk in encoded.as_bytes().chunks(LINE_LENGTH) {
        message.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        message.push_str("\r\n");
    }
    message.push_str("--load-boundary--\r\n.\r\n");
    message.into_bytes()
}

/// Returns `size` pseudo-random bytes, the same for the same `seed`.
/// Random content does not compress, so no layer can shrink it.
pub fn random_file(size: usize, seed: u64) -> Vec<u8> {
    let mut file = vec![0; size];
    StdRng::seed_from_u64(seed).fill_bytes(&mut file);
    file
}

/// Appends lines of letters until `message` grew by about `size` bytes. No
/// line starts with a dot, so no dot-stuffing is needed.
fn push_text(message: &mut String, size: usize) {
    let line: String = "The quick brown fox jumps over the lazy dog. ".chars().cycle().take(LINE_LENGTH).collect();
    let lines = (size / (LINE_LENGTH + 2)).max(1);
    for _ in 0..lines {
        message.push_str(&line);
        message.push_str("\r\n");
    }
}

/// Appends the base64 form of `decoded` bytes of `%PDF-` followed by `A`
/// bytes, in lines of 76 characters.
fn push_base64_filler(message: &mut String, decoded: usize) {
    // "%PDF-" followed by 'A's; base64 of "%PD" is "JVBE", of "F-A" is "Ri1B",
    // and of "AAA" is "QUFB".
    let mut encoded = String::from("JVBERi1B");
    let groups = decoded.saturating_sub(6).div_ceil(3);
    encoded.extend(std::iter::repeat_n("QUFB", groups));

    for chunk in encoded.as_bytes().chunks(LINE_LENGTH) {
        message.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        message.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message_has_size_and_end() {
        let data = data(7, 10_240, 0);

        assert!(data.len() > 9_500, "{}", data.len());
        assert!(data.len() < 11_000, "{}", data.len());
        assert!(data.ends_with(b"\r\n.\r\n"));
        assert!(String::from_utf8_lossy(&data).contains("X-Load-Id: 7\r\n"));
    }

    #[test]
    fn attachment_is_base64_pdf() {
        let data = String::from_utf8(data(1, 10_240, 3_000)).unwrap();

        assert!(data.contains("filename=\"report.pdf\""));
        assert!(data.contains("\r\nJVBERi1BQUFB"));
        assert!(data.lines().all(|line| line.len() <= 78));
    }

    #[test]
    fn file_attachment_decodes_to_file() {
        let file = random_file(1_000, 3);
        let data = with_file(5, "random.bin", &file);
        let text = String::from_utf8(data).unwrap();

        let body_start = text.find("base64\r\n\r\n").unwrap() + "base64\r\n\r\n".len();
        let body_end = text.find("--load-boundary--").unwrap();
        let encoded: String = text[body_start..body_end].split("\r\n").collect();
        assert_eq!(BASE64_STANDARD.decode(encoded).unwrap(), file);
        assert!(text.contains("X-Load-Id: 5\r\n"));
        assert!(text.ends_with("--load-boundary--\r\n.\r\n"));
        assert!(text.lines().all(|line| line.len() <= 78 && !line.starts_with('.') || line == "."));
    }

    #[test]
    fn random_file_repeats_for_seed() {
        assert_eq!(random_file(64, 1), random_file(64, 1));
        assert_ne!(random_file(64, 1), random_file(64, 2));
        assert_eq!(random_file(10, 1).len(), 10);
    }
}
