//! Reading and checking the request headers that carry the upload parameters.
//!
//! The vault API sends the parameters of the upload steps as request headers.
//! Each function here names the header in its error, so a client sees which
//! one to fix.

use axum::http::{HeaderMap, StatusCode};

use super::{ApiError, MAX_FILE_SIZE};
use crate::header_value;

pub(crate) fn missing_header(name: &str) -> ApiError {
    ApiError::bad_request("MISSING_HEADER", format!("the {name} header is missing"))
}

/// Reads the `group_id` header, which steps 2 to 5 require.
///
/// A missing header gets the product's own 400 response for this case.
pub(crate) fn group_id_header(headers: &HeaderMap) -> Result<&str, ApiError> {
    optional_header(headers, "group_id")?
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "UPLOAD_FILE_UPLOADER_GROUP_IS_REQUIRED",
                "The file uploader group is required",
            )
        })
}

pub(crate) fn required_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a str, ApiError> {
    optional_header(headers, name)?.ok_or_else(|| missing_header(name))
}

pub(crate) fn optional_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };

    value.to_str().map(|value| Some(value.trim())).map_err(|_| {
        ApiError::bad_request(
            "INVALID_HEADER",
            format!("the {name} header contains bytes outside visible ASCII; percent-encode them as UTF-8"),
        )
    })
}

/// Reads a percent-encoded header (`file_name`, `path`), as
/// [`crate::header_value`] describes.
pub(crate) fn decoded_header(
    headers: &HeaderMap,
    name: &'static str,
) -> Result<Option<String>, ApiError> {
    let Some(value) = optional_header(headers, name)? else {
        return Ok(None);
    };

    header_value::decode(value).map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "INVALID_HEADER",
            format!("the {name} header's percent-escapes do not decode to UTF-8"),
        )
    })
}

pub(crate) fn parse_file_size(value: &str) -> Result<u64, ApiError> {
    let size: u64 = value.parse().map_err(|_| {
        ApiError::bad_request(
            "INVALID_FILE_SIZE",
            format!("the file_size header {value:?} is not a byte count"),
        )
    })?;

    if size > MAX_FILE_SIZE {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "FILE_TOO_LARGE",
            format!("file_size is {size} bytes, more than the maximum of {MAX_FILE_SIZE} bytes"),
        ));
    }

    Ok(size)
}

pub(crate) fn check_file_name(name: &str) -> Result<(), ApiError> {
    let invalid = |reason: &str| {
        ApiError::bad_request(
            "INVALID_FILE_NAME",
            format!("the file_name {name:?} is invalid: {reason}"),
        )
    };

    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    if name.contains(['/', '\\']) {
        return Err(invalid(
            "it contains a path separator; put folders in the path header",
        ));
    }

    Ok(())
}

pub(crate) fn check_folder_path(path: &str) -> Result<(), ApiError> {
    let invalid = |reason: &str| {
        ApiError::bad_request(
            "INVALID_PATH",
            format!("the path {path:?} is invalid: {reason}"),
        )
    };

    if path.chars().any(char::is_control) {
        return Err(invalid("it contains control characters"));
    }
    if path.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(invalid("it contains a .. component"));
    }

    Ok(())
}

/// Checks the `DD:HH:MM:SS` form of `expires_after`.
pub(crate) fn check_expires_after(value: &str) -> Result<(), ApiError> {
    let fields: Vec<&str> = value.split(':').collect();
    let numeric = fields
        .iter()
        .all(|field| !field.is_empty() && field.bytes().all(|byte| byte.is_ascii_digit()));

    if fields.len() != 4 || !numeric {
        return Err(ApiError::bad_request(
            "INVALID_EXPIRES_AFTER",
            format!("the expires_after header {value:?} is not of the form DD:HH:MM:SS"),
        ));
    }

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_path_rules() {
        assert!(check_folder_path("").is_ok());
        assert!(check_folder_path("Email Gateway/2026-09-28/Report_<a@example.com>").is_ok());
        assert!(check_folder_path("a/../b").is_err());
        assert!(check_folder_path("..").is_err());
        assert!(check_folder_path("a\\..\\b").is_err());
        assert!(check_folder_path("a\nb").is_err());
        assert!(check_folder_path("a..b").is_ok());
    }

    #[test]
    fn file_name_rules() {
        assert!(check_file_name("Prüfung.pdf").is_ok());
        assert!(check_file_name("").is_err());
        assert!(check_file_name("a/b").is_err());
        assert!(check_file_name("a\u{0}b").is_err());
    }

    #[test]
    fn file_size_limits() {
        assert_eq!(parse_file_size("0").unwrap(), 0);
        assert_eq!(
            parse_file_size(&MAX_FILE_SIZE.to_string()).unwrap(),
            MAX_FILE_SIZE
        );
        assert!(parse_file_size(&(MAX_FILE_SIZE + 1).to_string()).is_err());
        assert!(parse_file_size("-1").is_err());
        assert!(parse_file_size("ten").is_err());
    }

    #[test]
    fn expires_after_form() {
        assert!(check_expires_after("07:00:00:00").is_ok());
        assert!(check_expires_after("7:0:0:0").is_ok());
        assert!(check_expires_after("07:00:00").is_err());
        assert!(check_expires_after("a:b:c:d").is_err());
    }
}
