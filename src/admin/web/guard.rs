//! What every request passes before its handler: HTTP Basic authentication when a users
//! file is set (loopback included), the refusal of cross-site POSTs (Fetch Metadata's
//! `Sec-Fetch-Site`, and `Origin` against the request's own origin), and the security
//! headers of every answer.

use super::AppState;
use super::auth::basic_credentials;
use super::server::Connection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, Ipv4Addr};
use tracing::warn;

/// Who sent a request: the user who logged in, or (without a users file) nobody named.
#[derive(Debug, Clone)]
pub struct Operator {
    pub user: Option<String>,
    pub peer: IpAddr,
}

impl Operator {
    /// The name the audit trail and the log get.
    pub fn name(&self) -> String {
        match &self.user {
            Some(user) => user.clone(),
            None => format!("web console at {}", self.peer),
        }
    }

    /// Whose form token the request must carry.
    pub fn token_user(&self) -> &str {
        self.user.as_deref().unwrap_or("")
    }
}

/// Paths answered without credentials: probes of a supervisor or load balancer, which
/// tell nothing about jobs.
const OPEN_PATHS: [&str; 2] = ["/healthz", "/readyz"];

pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let connection = request.extensions().get::<Connection>().copied();
    let peer = connection.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.peer.ip());
    let tls = connection.is_some_and(|c| c.tls);
    let open = OPEN_PATHS.contains(&request.uri().path());
    let mut user = None;
    if state.users.is_some() && !open {
        let credentials = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(basic_credentials);
        let Some((name, password)) = credentials else {
            return unauthorized();
        };
        let Ok(_permit) = state.checks.acquire().await else {
            return unauthorized();
        };
        let checker = state.clone();
        let checked = name.clone();
        let ok = tokio::task::spawn_blocking(move || {
            checker
                .users
                .as_ref()
                .is_some_and(|u| u.verify(&checked, &password))
        })
        .await
        .unwrap_or(false);
        if !ok {
            warn!(%peer, user = %name, "web console: wrong user name or password");
            return unauthorized();
        }
        user = Some(name);
    }
    if state.users.is_none()
        && !open
        && let Err(why) = loopback_host(request.headers(), request.uri())
    {
        warn!(%peer, path = %request.uri().path(), "web console: refused {why}");
        return forbidden(&why);
    }
    request.extensions_mut().insert(Operator { user, peer });
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    if !safe && let Err(why) = same_origin(request.headers(), tls) {
        warn!(%peer, path = %request.uri().path(), "web console: refused {why}");
        return forbidden(&why);
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// 401 with the challenge of RFC 7617 section 2.
fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"filmd\", charset=\"UTF-8\""),
        )],
        "log in to filmd's console\n",
    )
        .into_response()
}

pub(super) fn forbidden(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::Json(serde_json::json!({ "error": why })),
    )
        .into_response()
}

/// Without a users file the console answers anyone who reaches it, which only loopback
/// can (check-config refuses more). A web page elsewhere can still make a browser on this
/// machine reach it, by pointing its own host name at 127.0.0.1 (DNS rebinding): the
/// browser then sends that name as `Host`. So the request must name the console by a
/// loopback address or `localhost`.
fn loopback_host(headers: &HeaderMap, uri: &axum::http::Uri) -> Result<(), String> {
    // HTTP/2 names the host in the `:authority` pseudo-header, which becomes the URI's.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .ok_or_else(|| "a request without a Host header".to_string())?;
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(ip, _)| ip),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let loopback = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "a request for host {host:?}: without [admin] users_file the console answers \
             only to a loopback address or localhost"
        ))
    }
}

/// Whether a state-changing request comes from the console's own pages: browsers say
/// where a request comes from in `Sec-Fetch-Site` (Fetch Metadata) and `Origin` (RFC
/// 6454); a request that says another site is refused. A client that sends neither (curl)
/// is not a browser tricked by another site.
fn same_origin(headers: &HeaderMap, tls: bool) -> Result<(), String> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && matches!(site, "cross-site" | "same-site")
    {
        return Err(format!("a {site} request"));
    }
    if let Some(origin) = text(header::ORIGIN) {
        let scheme = if tls { "https" } else { "http" };
        let own = text(header::HOST).map(|host| format!("{scheme}://{host}"));
        if own.is_none_or(|own| !own.eq_ignore_ascii_case(origin)) {
            return Err(format!("a request from origin {origin:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_users_the_console_answers_only_to_loopback_host_names() {
        let ok = |host: &'static str| {
            loopback_host(
                &headers(&[("host", host)]),
                &axum::http::Uri::from_static("/"),
            )
            .is_ok()
        };
        for host in [
            "127.0.0.1:8631",
            "127.0.0.2:8631",
            "localhost:8631",
            "LOCALHOST",
            "[::1]:8631",
            "[::ffff:127.0.0.1]:8631",
        ] {
            assert!(ok(host), "{host}");
        }
        for host in [
            "evil.example:8631",
            "localhost.evil.example:8631",
            "10.0.0.1:8631",
            "[::2]:8631",
            "",
        ] {
            assert!(!ok(host), "{host}");
        }
        let no_host = loopback_host(&HeaderMap::new(), &axum::http::Uri::from_static("/"));
        assert!(no_host.is_err());
        let h2 = loopback_host(
            &HeaderMap::new(),
            &axum::http::Uri::from_static("http://localhost:8631/"),
        );
        assert!(h2.is_ok(), "HTTP/2 :authority");
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_told_apart_from_the_consoles_own() {
        fn ok(pairs: &[(&'static str, &'static str)], tls: bool) -> bool {
            same_origin(&headers(pairs), tls).is_ok()
        }
        assert!(ok(&[], false), "curl");
        assert!(ok(&[("sec-fetch-site", "same-origin")], false));
        assert!(
            ok(&[("sec-fetch-site", "none")], false),
            "typed by the user"
        );
        assert!(!ok(&[("sec-fetch-site", "cross-site")], false));
        assert!(!ok(&[("sec-fetch-site", "same-site")], false));
        let host = ("host", "127.0.0.1:8631");
        assert!(ok(&[host, ("origin", "http://127.0.0.1:8631")], false));
        assert!(!ok(&[host, ("origin", "http://127.0.0.1:8631")], true));
        assert!(ok(&[host, ("origin", "https://127.0.0.1:8631")], true));
        assert!(!ok(&[host, ("origin", "http://evil.example")], false));
        assert!(!ok(&[host, ("origin", "null")], false));
        assert!(
            !ok(&[("origin", "http://127.0.0.1:8631")], false),
            "no Host"
        );
    }
}
