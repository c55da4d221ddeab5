//! Splitting a header block into its fields.

/// Splits a header block into fields, each with its folded continuation
/// lines and line end. The blank line that ends the block is not a field.
pub(crate) fn header_fields(block: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut position = 0;

    while position < block.len() {
        let line_end = block[position..]
            .iter()
            .position(|byte| *byte == b'\n')
            .map_or(block.len(), |offset| position + offset + 1);
        let line = &block[position..line_end];
        let is_continuation = matches!(line.first(), Some(b' ' | b'\t'));
        let is_blank = line == b"\r\n" || line == b"\n";

        if (!is_continuation || is_blank) && position > start {
            fields.push(&block[start..position]);
            start = position;
        }
        if is_blank {
            start = line_end;
        }
        position = line_end;
    }
    if start < block.len() {
        fields.push(&block[start..]);
    }

    fields
}

/// Returns the name of `field` in lower case, without surrounding white
/// space; empty when the field has no colon.
pub(crate) fn field_name(field: &[u8]) -> String {
    let name_end = field.iter().position(|byte| *byte == b':').unwrap_or(0);
    String::from_utf8_lossy(&field[..name_end]).trim().to_ascii_lowercase()
}
