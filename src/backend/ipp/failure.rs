//! How an IPP exchange failed, sorted by what the caller should do next: try again later
//! (the printer is busy, paused or unreachable) or give up on this document (the printer
//! refused it).

use std::borrow::Cow;

/// Why an IPP request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IppFailure {
    /// The same request may succeed later: connection refused or reset, timeout, TLS
    /// handshake failure, or a status by which the printer asks to be asked again
    /// (RFC 8011 §4.1.6.3 `server-error-busy`, `-service-unavailable`,
    /// `-temporary-error`, `-not-accepting-jobs`).
    #[error("printer unavailable, will retry: {reason}")]
    Retryable { reason: String },
    /// Sending the same request again would fail the same way. `status` is the RFC 8011
    /// status keyword (e.g. `client-error-document-format-not-supported`), or one of
    /// ours for failures that have none: `http-NNN`, `invalid-uri`, `invalid-request`,
    /// `malformed-response`, `response-too-large`, `tls-configuration`.
    #[error("printer refused: {status}: {message}")]
    Permanent { status: String, message: String },
}

impl IppFailure {
    pub fn is_retryable(&self) -> bool {
        matches!(self, IppFailure::Retryable { .. })
    }

    pub(crate) fn permanent(status: impl Into<String>, message: impl Into<String>) -> Self {
        IppFailure::Permanent {
            status: status.into(),
            message: message.into(),
        }
    }

    /// The failure for an IPP status code that is not a success, with the printer's
    /// `status-message` if it sent one.
    pub(crate) fn from_status(code: u16, message: Option<String>) -> Self {
        let name = status_name(code);
        let message = message.unwrap_or_default();
        if is_retryable_status(code) {
            let reason = if message.is_empty() {
                name.into_owned()
            } else {
                format!("{name}: {message}")
            };
            IppFailure::Retryable { reason }
        } else {
            IppFailure::Permanent {
                status: name.into_owned(),
                message,
            }
        }
    }

    /// The failure for an HTTP status other than 2xx (RFC 8010 §3.4: IPP errors travel
    /// inside a 200 response, so these come from the HTTP layer: a proxy, an overloaded
    /// server, authentication).
    pub(crate) fn from_http(code: u16) -> Self {
        match code {
            408 | 429 | 500 | 502 | 503 | 504 => IppFailure::Retryable {
                reason: format!("HTTP status {code}"),
            },
            _ => IppFailure::permanent(
                format!("http-{code}"),
                match code {
                    401 => "the printer asks for authentication".to_string(),
                    403 => "the printer forbids this request".to_string(),
                    426 => "the printer requires TLS: use an ipps:// URI".to_string(),
                    _ => format!("HTTP status {code}"),
                },
            ),
        }
    }
}

/// Whether an IPP status code is a success (RFC 8011 §4.1.6: 0x0000-0x00FF).
pub(crate) fn is_success(code: u16) -> bool {
    code <= 0x00FF
}

/// Status codes after which the same request is worth repeating. `server-error-busy` is
/// what ippeveprinter and many printers answer while a job is printing;
/// `not-accepting-jobs` is an operator's (temporary) decision, not a judgement on the
/// document, so the film waits rather than fails.
fn is_retryable_status(code: u16) -> bool {
    matches!(code, 0x0502 | 0x0505 | 0x0506 | 0x0507)
}

/// The keyword of an IPP status code (RFC 8011 §4.1.6 and the IANA IPP registry).
pub fn status_name(code: u16) -> Cow<'static, str> {
    let name = match code {
        0x0000 => "successful-ok",
        0x0001 => "successful-ok-ignored-or-substituted-attributes",
        0x0002 => "successful-ok-conflicting-attributes",
        0x0400 => "client-error-bad-request",
        0x0401 => "client-error-forbidden",
        0x0402 => "client-error-not-authenticated",
        0x0403 => "client-error-not-authorized",
        0x0404 => "client-error-not-possible",
        0x0405 => "client-error-timeout",
        0x0406 => "client-error-not-found",
        0x0407 => "client-error-gone",
        0x0408 => "client-error-request-entity-too-large",
        0x0409 => "client-error-request-value-too-long",
        0x040A => "client-error-document-format-not-supported",
        0x040B => "client-error-attributes-or-values-not-supported",
        0x040C => "client-error-uri-scheme-not-supported",
        0x040D => "client-error-charset-not-supported",
        0x040E => "client-error-conflicting-attributes",
        0x040F => "client-error-compression-not-supported",
        0x0410 => "client-error-compression-error",
        0x0411 => "client-error-document-format-error",
        0x0412 => "client-error-document-access-error",
        0x0500 => "server-error-internal-error",
        0x0501 => "server-error-operation-not-supported",
        0x0502 => "server-error-service-unavailable",
        0x0503 => "server-error-version-not-supported",
        0x0504 => "server-error-device-error",
        0x0505 => "server-error-temporary-error",
        0x0506 => "server-error-not-accepting-jobs",
        0x0507 => "server-error-busy",
        0x0508 => "server-error-job-canceled",
        0x0509 => "server-error-multiple-document-jobs-not-supported",
        _ => return Cow::Owned(format!("status-0x{code:04x}")),
    };
    Cow::Borrowed(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_and_unavailable_are_retryable_others_permanent() {
        for code in [0x0502u16, 0x0505, 0x0506, 0x0507] {
            assert!(
                IppFailure::from_status(code, None).is_retryable(),
                "{code:#x}"
            );
        }
        let f = IppFailure::from_status(0x040A, Some("PDF? no".into()));
        assert_eq!(
            f,
            IppFailure::Permanent {
                status: "client-error-document-format-not-supported".into(),
                message: "PDF? no".into()
            }
        );
        assert_eq!(
            f.to_string(),
            "printer refused: client-error-document-format-not-supported: PDF? no"
        );
        let busy = IppFailure::from_status(0x0507, Some("Currently printing".into()));
        assert_eq!(
            busy.to_string(),
            "printer unavailable, will retry: server-error-busy: Currently printing"
        );
        assert_eq!(status_name(0x0666), "status-0x0666");
    }

    #[test]
    fn http_statuses() {
        assert!(IppFailure::from_http(503).is_retryable());
        assert_eq!(
            IppFailure::from_http(401),
            IppFailure::Permanent {
                status: "http-401".into(),
                message: "the printer asks for authentication".into()
            }
        );
        assert!(!IppFailure::from_http(404).is_retryable());
    }

    #[test]
    fn success_range() {
        assert!(is_success(0x0000));
        assert!(is_success(0x0001));
        assert!(!is_success(0x0400));
    }
}
