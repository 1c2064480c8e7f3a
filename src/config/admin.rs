//! The `[admin]` section: where the operator's web console listens, who may log in and
//! its HTTPS certificate; its check-config problems and its resolved
//! [`ConsoleSettings`]. A console reachable from the network must ask for a password and
//! speak TLS: check-config refuses anything less.

use crate::admin::web::{ConsoleSettings, Users};
use crate::net::tls::TlsFiles;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Where the console listens when the file says nothing: on for a newcomer, loopback only.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8631";

/// `[admin]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminConfig {
    /// ADDRESS:PORT of the web console and its API; "" turns it off.
    pub http_listen: String,
    /// `name:hash` lines (argon2 PHC from `filmd hash-password`, or bcrypt from
    /// `htpasswd -B`); empty: no log-in (loopback only).
    pub users_file: PathBuf,
    /// PEM certificate (and chain) and private key: the console speaks HTTPS.
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            http_listen: DEFAULT_HTTP_LISTEN.into(),
            users_file: PathBuf::new(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
        }
    }
}

fn set(path: &Path) -> bool {
    !path.as_os_str().is_empty()
}

impl AdminConfig {
    fn tls_files(&self) -> Option<TlsFiles> {
        (set(&self.tls_cert) && set(&self.tls_key)).then(|| TlsFiles {
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
            client_ca: None,
            require_client_cert: false,
        })
    }

    /// Every problem, as (key under `admin.`, problem).
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        let mut issues = Vec::new();
        if self.http_listen.is_empty() {
            return issues;
        }
        let listen = match self.http_listen.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                issues.push((
                    "http_listen",
                    format!(
                        "{:?} is not ADDRESS:PORT (or \"\" for no console)",
                        self.http_listen
                    ),
                ));
                None
            }
        };
        if set(&self.users_file)
            && let Err(e) = Users::load(&self.users_file)
        {
            issues.push(("users_file", e.to_string()));
        }
        match (set(&self.tls_cert), set(&self.tls_key)) {
            (true, false) => issues.push(("tls_key", "tls_cert needs its tls_key".into())),
            (false, true) => issues.push(("tls_cert", "tls_key needs its tls_cert".into())),
            _ => {}
        }
        for (key, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            if set(path) && !path.is_file() {
                issues.push((key, format!("{}: no such file", path.display())));
            }
        }
        if let Some(files) = self.tls_files()
            && files.cert.is_file()
            && files.key.is_file()
            && let Err(e) = crate::net::tls::server_config(&files)
        {
            issues.push(("tls_cert", e.to_string()));
        }
        if let Some(addr) = listen
            && !addr.ip().is_loopback()
            && (!set(&self.users_file) || self.tls_files().is_none())
        {
            issues.push((
                "http_listen",
                format!(
                    "{addr} is reachable from the network: the console then needs \
                     admin.users_file (who may log in) and admin.tls_cert and admin.tls_key \
                     (HTTPS); or listen on 127.0.0.1"
                ),
            ));
        }
        issues
    }

    /// The resolved console (`None`: off).
    pub fn resolve(&self) -> Option<ConsoleSettings> {
        // Validated: an ADDRESS:PORT or "".
        let listen = self.http_listen.parse().ok()?;
        Some(ConsoleSettings {
            listen,
            users_file: set(&self.users_file).then(|| self.users_file.clone()),
            tls: self.tls_files(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(&'static str, String)> {
        let cfg: AdminConfig = toml::from_str(text).expect("parses");
        cfg.validate()
    }

    #[test]
    fn the_console_is_on_for_loopback_by_default_and_off_with_an_empty_address() {
        let on = AdminConfig::default().resolve().expect("on");
        assert_eq!(on.listen, DEFAULT_HTTP_LISTEN.parse().unwrap());
        assert!(on.users_file.is_none() && on.tls.is_none());
        assert!(problems("http_listen = \"\"").is_empty());
        assert!(problems("http_listen = \"\"").is_empty());
        let off: AdminConfig = toml::from_str("http_listen = \"\"").unwrap();
        assert!(off.resolve().is_none());
        assert!(problems("http_listen = \"[::1]:8631\"").is_empty());
    }

    #[test]
    fn a_console_reachable_from_the_network_needs_users_and_tls() {
        for listen in ["0.0.0.0:8631", "192.0.2.7:8631", "[::]:8631"] {
            let found = problems(&format!("http_listen = {listen:?}"));
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].0, "http_listen");
            assert!(found[0].1.contains("users_file"), "{}", found[0].1);
        }
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(
            &users,
            "admin:$2y$05$maEpGMS3Xl.3b2l44q/FWuYqabM3LhXAtjZ2ntUGr3FYClPExcms.\n",
        )
        .unwrap();
        let users_only = format!(
            "http_listen = \"0.0.0.0:8631\"\nusers_file = {:?}",
            users.display().to_string()
        );
        let found = problems(&users_only);
        assert_eq!(found.len(), 1, "users alone are not enough: {found:?}");
        assert!(found[0].1.contains("tls_cert"));
    }

    #[test]
    fn files_are_checked() {
        let found = problems("users_file = \"/nonexistent/users\"\ntls_cert = \"/nonexistent/c\"");
        let keys: Vec<&str> = found.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, ["users_file", "tls_key", "tls_cert"], "{found:?}");
        assert!(
            problems("http_listen = \"localhost:8631\"")[0]
                .1
                .contains("ADDRESS:PORT")
        );
    }
}
