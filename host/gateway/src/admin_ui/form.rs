//! Decoding of form bodies and cookies, and percent-encoding for links.
//!
//! The admin endpoint's axum build has no form extractor, so the interface
//! decodes `application/x-www-form-urlencoded` bodies here.

use axum::http::HeaderMap;

/// Decoded fields of a form body, in order.
pub(super) struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Decodes an `application/x-www-form-urlencoded` body. Invalid percent
    /// escapes stay as they are, and invalid UTF-8 becomes U+FFFD.
    pub fn parse(body: &[u8]) -> FormFields {
        let fields = body
            .split(|byte| *byte == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let mut parts = pair.splitn(2, |byte| *byte == b'=');
                let name = percent_decode(parts.next().unwrap_or_default());
                let value = percent_decode(parts.next().unwrap_or_default());
                (name, value)
            })
            .collect();
        FormFields(fields)
    }

    /// Returns the first value of the field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
    }
}

fn percent_decode(input: &[u8]) -> String {
    let mut output = Vec::with_capacity(input.len());
    let mut index = 0;
    while index < input.len() {
        let byte = input[index];
        let escaped = (byte == b'%')
            .then(|| input.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (_, Some(decoded)) => {
                output.push(decoded);
                index += 3;
            }
            (b'+', None) => {
                output.push(b' ');
                index += 1;
            }
            (other, None) => {
                output.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&output).into_owned()
}

/// Percent-encodes `input` for a query string value: every byte except
/// ASCII letters, digits and `-_.~` becomes `%XX`.
pub(super) fn percent_encode(input: &str) -> String {
    let mut output = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            output.push(byte as char);
        } else {
            output.push_str(&format!("%{byte:02X}"));
        }
    }
    output
}

/// Returns the value of the cookie `name` from the request's `Cookie`
/// headers.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie_name, _)| *cookie_name == name)
        .map(|(_, value)| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_body_is_decoded() {
        let fields = FormFields::parse(b"token=a%2Bb+c&next=%2Fadmin%2Fui%2Frules&empty=&bad=%zz%4");

        assert_eq!(fields.get("token"), Some("a+b c"));
        assert_eq!(fields.get("next"), Some("/admin/ui/rules"));
        assert_eq!(fields.get("empty"), Some(""));
        assert_eq!(fields.get("bad"), Some("%zz%4"));
        assert_eq!(fields.get("missing"), None);
    }

    #[test]
    fn form_body_decodes_utf8() {
        let fields = FormFields::parse(b"subject=%C3%A9t%C3%A9");

        assert_eq!(fields.get("subject"), Some("été"));
    }

    #[test]
    fn percent_encoding_round_trips() {
        let original = "/admin/ui/history?sender=a b&subject=été";
        let encoded = percent_encode(original);

        assert!(encoded.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_.~%".contains(&byte)));
        assert_eq!(percent_decode(encoded.as_bytes()), original);
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(axum::http::header::COOKIE, "theme=dark; mailgate_admin_session=abc123".parse().unwrap());
        headers.append(axum::http::header::COOKIE, "other=1".parse().unwrap());

        assert_eq!(cookie(&headers, "mailgate_admin_session"), Some("abc123".to_string()));
        assert_eq!(cookie(&headers, "other"), Some("1".to_string()));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
