//! Content-Transfer-Encoding decoding and encoding, and encoding notice text
//! into a part's charset.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::part::TransferEncoding;

/// Maximum length of an encoded line, in characters without CR LF (RFC 2045).
const MAX_ENCODED_LINE: usize = 76;

/// Encoded bytes gathered before [`decode_base64`] decodes them in one
/// step.
const DECODE_BLOCK: usize = 64 * 1024;

/// Decodes base64 leniently: characters outside the alphabet (line breaks,
/// spaces, `=`) are skipped, and a truncated final group is decoded as far
/// as it goes. The result equals decoding all alphabet characters at once.
///
/// The lines, without their line ends, are gathered into blocks of about
/// [`DECODE_BLOCK`] bytes. A block of alphabet characters only, the usual
/// case, is decoded as it is; any other block is filtered first. No
/// filtered copy of the whole input is made.
pub(crate) fn decode_base64(encoded: &[u8]) -> Vec<u8> {
    decode_base64_checked(encoded).0
}

/// Decodes like [`decode_base64`] and also returns what
/// [`is_valid_base64`] returns for `encoded`, without a second pass over
/// the blocks decoded as they are.
pub(crate) fn decode_base64_checked(encoded: &[u8]) -> (Vec<u8>, bool) {
    let mut decoder = LenientDecoder::new(encoded.len());
    let mut position = 0;

    while position < encoded.len() {
        let end = memchr::memchr(b'\n', &encoded[position..]).map_or(encoded.len(), |offset| position + offset);
        let line = &encoded[position..end];
        position = end + 1;

        for piece in line.strip_suffix(b"\r").unwrap_or(line).chunks(DECODE_BLOCK) {
            decoder.block.extend_from_slice(piece);
            if decoder.block.len() >= DECODE_BLOCK && !decoder.decode_block(false) {
                return (Vec::new(), is_valid_base64(encoded));
            }
        }
    }

    if !decoder.decode_block(true) {
        return (Vec::new(), is_valid_base64(encoded));
    }
    (decoder.decoded, decoder.valid)
}

/// State of [`decode_base64`].
struct LenientDecoder {
    engine: base64::engine::GeneralPurpose,
    decoded: Vec<u8>,
    /// Encoded bytes not decoded yet.
    block: Vec<u8>,
    /// Alphabet characters filtered from earlier blocks that did not fill a
    /// whole group, decoded with the next block.
    filtered: Vec<u8>,
    /// Whether the input so far is valid base64 text. A block decoded as it
    /// is holds alphabet characters only, and the line ends left out of the
    /// blocks are white space, so only filtered blocks are checked.
    valid: bool,
}

impl LenientDecoder {
    fn new(encoded_length: usize) -> LenientDecoder {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        LenientDecoder {
            engine,
            decoded: Vec::with_capacity(encoded_length / 4 * 3 + 3),
            block: Vec::with_capacity(2 * DECODE_BLOCK),
            filtered: Vec::new(),
            valid: true,
        }
    }

    /// Decodes the whole groups of the block, or everything when `last`.
    /// Returns `false` when the base64 engine fails, which filtered input
    /// never makes it do.
    fn decode_block(&mut self, last: bool) -> bool {
        let whole = if last { self.block.len() } else { self.block.len() / 4 * 4 };
        let plain = self.filtered.is_empty() && whole % 4 != 1 && memchr::memchr(b'=', &self.block[..whole]).is_none();
        if plain {
            // Without `=`, the engine fails on any byte outside the alphabet.
            let length = self.decoded.len();
            if self.engine.decode_vec(&self.block[..whole], &mut self.decoded).is_ok() {
                self.block.drain(..whole);
                return true;
            }
            self.decoded.truncate(length);
        }

        let block = std::mem::take(&mut self.block);
        self.valid &= is_valid_base64(&block);
        self.filtered.extend(block.iter().copied().filter(|byte| is_base64_alphabet(*byte)));
        self.block = block;
        self.block.clear();
        let mut whole = self.filtered.len() / 4 * 4;
        if last {
            if self.filtered.len() % 4 == 1 {
                // A single character left over carries fewer than 8 bits: no byte.
                self.filtered.pop();
            }
            whole = self.filtered.len();
        }
        if self.engine.decode_vec(&self.filtered[..whole], &mut self.decoded).is_err() {
            return false;
        }
        self.filtered.drain(..whole);
        true
    }
}

fn is_base64_alphabet(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'+' || byte == b'/'
}

/// Bytes checked at once by [`is_valid_base64`]. Within a block every byte
/// is checked without an early exit, so the compiler can use vector
/// instructions.
const VALIDATE_BLOCK: usize = 64;

/// Returns whether `encoded` has only base64 alphabet characters, `=`
/// padding and white space.
pub(crate) fn is_valid_base64(encoded: &[u8]) -> bool {
    encoded
        .chunks(VALIDATE_BLOCK)
        .all(|block| block.iter().fold(true, |valid, byte| valid & is_base64_text(*byte)))
}

/// Returns whether `byte` may appear in base64 text: the alphabet, `=` and
/// white space. Written without branches, see [`VALIDATE_BLOCK`].
fn is_base64_text(byte: u8) -> bool {
    let upper = byte.wrapping_sub(b'A') < 26;
    let lower = byte.wrapping_sub(b'a') < 26;
    let digit = byte.wrapping_sub(b'0') < 10;
    let symbol = (byte == b'+') | (byte == b'/') | (byte == b'=');
    let space = (byte == b' ') | (byte == b'\t') | (byte == b'\r') | (byte == b'\n');
    upper | lower | digit | symbol | space
}

/// Decodes quoted-printable, keeping malformed escapes as they are.
pub(crate) fn decode_quoted_printable(encoded: &[u8]) -> Vec<u8> {
    quoted_printable::decode(encoded, quoted_printable::ParseMode::Robust).unwrap_or_else(|_| encoded.to_vec())
}

/// Encodes `content` for a part with the given transfer encoding, with CR LF
/// line ends and lines of at most 76 characters for base64 and
/// quoted-printable. 7bit, 8bit and binary content is returned unchanged.
pub(crate) fn encode(content: &[u8], encoding: TransferEncoding) -> Vec<u8> {
    match encoding {
        TransferEncoding::Base64 => {
            let encoded = STANDARD.encode(content);
            let mut wrapped = Vec::with_capacity(encoded.len() + encoded.len() / MAX_ENCODED_LINE * 2 + 2);
            for line in encoded.as_bytes().chunks(MAX_ENCODED_LINE) {
                wrapped.extend_from_slice(line);
                wrapped.extend_from_slice(b"\r\n");
            }
            wrapped
        }
        TransferEncoding::QuotedPrintable => quoted_printable::encode(content),
        TransferEncoding::SevenBit | TransferEncoding::EightBit | TransferEncoding::Binary => content.to_vec(),
    }
}

/// Encodes notice text for a text/plain part in `charset`.
///
/// Characters the charset cannot represent become `?`. A 7bit part without
/// a charset, or with `us-ascii`, gets `?` for every non-ASCII character.
/// A 7bit part with another charset gets the charset's bytes, and the
/// rewrite then encodes it as quoted-printable. Returns `None` for charsets
/// whose output is not ASCII-compatible (UTF-16 and UTF-32), where appending
/// bytes would corrupt the text.
pub(crate) fn encode_plain_text(text: &str, charset: Option<&str>, encoding: TransferEncoding) -> Option<Vec<u8>> {
    let target = charset_encoding(charset)?;
    let declared_ascii = charset.is_none_or(|label| label.trim().eq_ignore_ascii_case("us-ascii"));
    let ascii_only = encoding == TransferEncoding::SevenBit && declared_ascii;

    let mut output = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for character in text.chars() {
        if character.is_ascii() {
            output.push(character as u8);
            continue;
        }
        let encoded = encode_char(target, character.encode_utf8(&mut buffer));
        match encoded {
            Some(bytes) if !ascii_only => output.extend_from_slice(&bytes),
            _ => output.push(b'?'),
        }
    }
    Some(output)
}

/// Encodes notice HTML for a text/html part: every non-ASCII character
/// becomes a numeric character reference, which reads the same in any
/// ASCII-compatible charset. Returns `None` as [`encode_plain_text`] does.
pub(crate) fn encode_html(html: &str, charset: Option<&str>) -> Option<Vec<u8>> {
    charset_encoding(charset)?;

    let mut output = String::with_capacity(html.len());
    for character in html.chars() {
        if character.is_ascii() {
            output.push(character);
        } else {
            output.push_str(&format!("&#{};", u32::from(character)));
        }
    }
    Some(output.into_bytes())
}

/// Looks up the encoding for a charset label, falling back to windows-1252
/// (a superset of US-ASCII) when the label is missing or unknown. Returns
/// `None` for labels whose bytes are not ASCII-compatible.
fn charset_encoding(charset: Option<&str>) -> Option<&'static encoding_rs::Encoding> {
    let encoding = charset
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::WINDOWS_1252);
    if encoding.is_ascii_compatible() { Some(encoding) } else { None }
}

fn encode_char(target: &'static encoding_rs::Encoding, character: &str) -> Option<Vec<u8>> {
    if target == encoding_rs::UTF_8 {
        return Some(character.as_bytes().to_vec());
    }
    let mut encoder = target.new_encoder();
    let mut output = vec![0u8; 16];
    let (result, _read, written) = encoder.encode_from_utf8_without_replacement(character, &mut output, true);
    match result {
        encoding_rs::EncoderResult::InputEmpty => {
            output.truncate(written);
            Some(output)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_wraps_lines() {
        let content: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let encoded = encode(&content, TransferEncoding::Base64);
        for line in encoded.split(|byte| *byte == b'\n') {
            assert!(line.len() <= MAX_ENCODED_LINE + 1);
        }
        assert_eq!(decode_base64(&encoded), content);
    }

    #[test]
    fn base64_decode_skips_whitespace() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
    }

    #[test]
    fn base64_validity() {
        assert!(is_valid_base64(b"aGVs\r\nbG8=\r\n"));
        assert!(!is_valid_base64(b"!!!not-base64!!!\r\n"));
    }

    #[test]
    fn base64_text_bytes_match_the_alphabet() {
        for byte in 0..=u8::MAX {
            let expected = byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=' | b' ' | b'\t' | b'\r' | b'\n');
            assert_eq!(is_base64_text(byte), expected, "byte {byte}");
        }
    }

    #[test]
    fn invalid_byte_found_in_any_block() {
        let mut encoded = b"QUJD".repeat(100);
        assert!(is_valid_base64(&encoded));

        encoded[250] = b'!';

        assert!(!is_valid_base64(&encoded));
    }

    #[test]
    fn base64_decode_missing_padding() {
        assert_eq!(decode_base64(b"aGVsbG8"), b"hello");
    }

    /// Decodes all alphabet characters at once: the behaviour that the
    /// block-wise [`decode_base64`] must keep.
    fn decode_base64_at_once(encoded: &[u8]) -> Vec<u8> {
        let mut alphabet_only: Vec<u8> = encoded.iter().copied().filter(|byte| is_base64_alphabet(*byte)).collect();
        if alphabet_only.len() % 4 == 1 {
            alphabet_only.pop();
        }
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        engine.decode(&alphabet_only).unwrap_or_default()
    }

    #[test]
    fn base64_blocks_match_decoding_at_once() {
        // A fixed pseudo-random sequence (xorshift), so failures repeat.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let noise = b"\r\n =\t-.*";
        let sizes = [0, 1, 2, 3, 5, 77, DECODE_BLOCK - 1, DECODE_BLOCK, DECODE_BLOCK + 1, 3 * DECODE_BLOCK + 7];

        for (case, size) in sizes.into_iter().enumerate() {
            let content: Vec<u8> = (0..size).map(|_| next() as u8).collect();
            let mut encoded = Vec::new();
            for byte in STANDARD.encode(&content).bytes() {
                encoded.push(byte);
                if next() % 50 == 0 {
                    encoded.push(noise[(next() % noise.len() as u64) as usize]);
                }
            }
            let single_line = STANDARD.encode(&content).into_bytes();

            assert_eq!(decode_base64(&encoded), decode_base64_at_once(&encoded), "case {case} with noise");
            assert_eq!(decode_base64(&single_line), content, "case {case} as one line");
            assert_eq!(decode_base64(&encode(&content, TransferEncoding::Base64)), content, "case {case} wrapped");
            for text in [&encoded, &single_line, &encode(&content, TransferEncoding::Base64)] {
                assert_eq!(decode_base64_checked(text).1, is_valid_base64(text), "case {case}: validity");
            }
            let mut late_error = encode(&content, TransferEncoding::Base64);
            if let Some(last) = late_error.len().checked_sub(3) {
                late_error[last] = b'*';
                assert!(!decode_base64_checked(&late_error).1, "case {case}: error at the end");
            }
        }
    }

    #[test]
    fn base64_one_noisy_block_matches_decoding_at_once() {
        let content: Vec<u8> = (0..3 * DECODE_BLOCK).map(|index| (index * 7 % 251) as u8).collect();
        let clean = encode(&content, TransferEncoding::Base64);

        for (offset, noise) in [(10, b'='), (DECODE_BLOCK + 3, b'*'), (2 * DECODE_BLOCK - 1, b' '), (clean.len() - 3, b'A')] {
            let mut noisy = clean.clone();
            noisy.insert(offset, noise);
            assert_eq!(decode_base64(&noisy), decode_base64_at_once(&noisy), "{:?} at {offset}", noise as char);
        }
    }

    #[test]
    fn base64_odd_inputs_match_decoding_at_once() {
        let cases: [&[u8]; 10] = [
            b"",
            b"Q",
            b"QQ==QUFB",
            b"=====",
            b"QUF\r\nB\r\nQ",
            b"Q U F B Q",
            b"***QUFB***",
            b"QUFB\r\nQQ==\r\nQUFB\r\n",
            b"QUFB\r\nQ-UFB\r\nQUFB",
            b"QUFB\r\r\nQUFB\rQUFB\n",
        ];

        for encoded in cases {
            assert_eq!(decode_base64(encoded), decode_base64_at_once(encoded), "{}", String::from_utf8_lossy(encoded));
        }
    }

    #[test]
    fn quoted_printable_round_trip() {
        let content = "caf\u{e9} = 1\r\nnext line\r\n".as_bytes();
        let encoded = encode(content, TransferEncoding::QuotedPrintable);
        assert_eq!(decode_quoted_printable(&encoded), content);
    }

    #[test]
    fn plain_text_latin1_maps_accent() {
        let bytes = encode_plain_text("caf\u{e9}", Some("iso-8859-1"), TransferEncoding::QuotedPrintable).unwrap();
        assert_eq!(bytes, b"caf\xe9");
    }

    #[test]
    fn plain_text_unmappable_becomes_question_mark() {
        let bytes = encode_plain_text("\u{65e5}", Some("iso-8859-1"), TransferEncoding::EightBit).unwrap();
        assert_eq!(bytes, b"?");
    }

    #[test]
    fn plain_text_seven_bit_ascii_stays_ascii() {
        let bytes = encode_plain_text("caf\u{e9}", Some("us-ascii"), TransferEncoding::SevenBit).unwrap();
        assert_eq!(bytes, b"caf?");
        let bytes = encode_plain_text("caf\u{e9}", None, TransferEncoding::SevenBit).unwrap();
        assert_eq!(bytes, b"caf?");
    }

    #[test]
    fn plain_text_seven_bit_utf8_keeps_characters() {
        let bytes = encode_plain_text("caf\u{e9}", Some("utf-8"), TransferEncoding::SevenBit).unwrap();
        assert_eq!(bytes, "caf\u{e9}".as_bytes());
    }

    #[test]
    fn plain_text_utf16_is_refused() {
        assert_eq!(encode_plain_text("x", Some("utf-16le"), TransferEncoding::Base64), None);
    }

    #[test]
    fn html_uses_character_references() {
        let bytes = encode_html("<b>caf\u{e9}</b>", Some("utf-8")).unwrap();
        assert_eq!(bytes, b"<b>caf&#233;</b>");
    }
}
