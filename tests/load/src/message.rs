//! The messages of a load run: the same text of a set size for every
//! message, with its number in `X-Load-Id` and in the Message-ID.

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
}
