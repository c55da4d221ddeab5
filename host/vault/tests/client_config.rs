//! Checks of the client's base URL and API key.

use mailgate_vault::{VaultClient, VaultClientConfig, VaultError};

const API_KEY: &str = "test-key-0123456789abcdefghijk";

#[test]
fn base_url_table() {
    let good = [
        (
            "http://127.0.0.1:8010/vault_rest",
            "http://127.0.0.1:8010/vault_rest",
        ),
        (
            "http://127.0.0.1:8010/vault_rest/",
            "http://127.0.0.1:8010/vault_rest",
        ),
        (
            "https://vault.example.com:8010/vault_rest",
            "https://vault.example.com:8010/vault_rest",
        ),
        (
            "http://[::1]:8010/vault_rest",
            "http://[::1]:8010/vault_rest",
        ),
        (
            "https://vault.example.com/vault_rest",
            "https://vault.example.com/vault_rest",
        ),
        (
            "  http://vault:8010/vault_rest  ",
            "http://vault:8010/vault_rest",
        ),
    ];
    for (input, normalized) in good {
        let client = VaultClient::new(VaultClientConfig::new(input, API_KEY));
        let client = client.unwrap_or_else(|err| panic!("{input:?} rejected: {err}"));
        assert_eq!(client.base_url(), normalized, "{input:?}");
    }

    let bad = [
        ("", "not a URL"),
        ("vault.example.com:8010/vault_rest", "scheme"),
        ("127.0.0.1:8010/vault_rest", "not a URL"),
        ("ftp://vault:8010/vault_rest", "scheme"),
        ("http://vault:8000", "web UI"),
        ("http://vault:8000/", "web UI"),
        ("http://vault:8010/vault", "not /vault_rest"),
        ("http://vault:8010/vault_rest/transfer", "not /vault_rest"),
        ("http://user:pw@vault:8010/vault_rest", "password"),
        ("http://vault:8010/vault_rest?key=1", "query"),
        ("http://vault:99999/vault_rest", "not a URL"),
    ];
    for (input, expected_reason) in bad {
        match VaultClient::new(VaultClientConfig::new(input, API_KEY)) {
            Err(VaultError::InvalidUrl { url, reason }) => {
                assert_eq!(url, input);
                assert!(reason.contains(expected_reason), "{input:?}: {reason}");
            }
            Err(other) => panic!("{input:?}: expected InvalidUrl, got {other:?}"),
            Ok(_) => panic!("{input:?} accepted"),
        }
    }
}

#[test]
fn invalid_url_message_names_form() {
    let err = VaultClient::new(VaultClientConfig::new("http://vault:8000/", API_KEY)).unwrap_err();

    let message = err.to_string();

    assert!(message.contains("\"http://vault:8000/\""), "{message}");
    assert!(
        message.contains("http(s)://<host>:<port>/vault_rest"),
        "{message}"
    );
    assert!(!err.is_temporary());
}

#[test]
fn api_key_required() {
    for key in ["", "two words", "ключ"] {
        let err = VaultClient::new(VaultClientConfig::new(
            "http://127.0.0.1:8010/vault_rest",
            key,
        ))
        .unwrap_err();
        assert!(
            matches!(err, VaultError::InvalidApiKey { .. }),
            "{key:?}: {err:?}"
        );
    }
}

#[test]
fn default_timeout_is_30_seconds() {
    let config = VaultClientConfig::new("http://127.0.0.1:8010/vault_rest", API_KEY);

    assert_eq!(config.request_timeout, std::time::Duration::from_secs(30));
}
