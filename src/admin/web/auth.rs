//! Who may use the console: the users file (`name:hash` lines, argon2 PHC or bcrypt as
//! `htpasswd -B` writes), HTTP Basic authentication (RFC 7617) checked against it off the
//! runtime's threads, and the per-user token HTML forms carry against cross-site requests.

use base64::Engine;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Longest users file read, bytes.
const MAX_USERS_FILE: u64 = 1 << 20;
/// Longest user name or password taken from a request, bytes.
const MAX_CREDENTIAL: usize = 1024;
/// How long a verified name and password are taken without hashing them again: argon2 and
/// bcrypt cost tens of milliseconds by design, and a console page that refreshes itself
/// sends the same credentials with every request.
const VERIFIED_FOR: Duration = Duration::from_secs(300);
/// Verified credentials remembered at once.
const MAX_VERIFIED: usize = 256;

/// What is wrong with a users file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersFileError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is larger than {MAX_USERS_FILE} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}:{line}: {problem}")]
    Line {
        path: PathBuf,
        line: usize,
        problem: String,
    },
    #[error("{path} names no user")]
    Empty { path: PathBuf },
}

/// A stored password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hash {
    /// A PHC string, `$argon2id$v=19$m=…,t=…,p=…$salt$hash` (also argon2i, argon2d).
    Argon2(String),
    /// `$2b$`, `$2y$` or `$2a$` (bcrypt; `htpasswd -B`).
    Bcrypt(String),
}

impl Hash {
    fn parse(text: &str) -> Result<Hash, String> {
        if text.starts_with("$argon2") {
            argon2::password_hash::phc::PasswordHash::new(text)
                .map_err(|e| format!("not an argon2 PHC string: {e}"))?;
            Ok(Hash::Argon2(text.to_string()))
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| text.starts_with(p)) {
            if text.len() != 60 {
                return Err("a bcrypt hash has 60 characters".into());
            }
            Ok(Hash::Bcrypt(text.to_string()))
        } else {
            Err(
                "the hash must be argon2 ($argon2id$…, `filmd hash-password`) or bcrypt \
                 ($2y$…, `htpasswd -nB NAME`)"
                    .into(),
            )
        }
    }

    /// Whether `password` is the one hashed: both libraries compare in constant time.
    fn verify(&self, password: &str) -> bool {
        match self {
            Hash::Argon2(phc) => {
                use argon2::password_hash::PasswordVerifier;
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok()
            }
            Hash::Bcrypt(hash) => bcrypt::verify(password, hash).unwrap_or(false),
        }
    }
}

/// The console's users, read from `[admin] users_file`.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<String, Hash>,
    /// Keys the cache of verified credentials.
    key: [u8; 32],
    verified: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Users {
    /// Reads a users file: one `name:hash` a line; blank lines and `#` comments are
    /// skipped.
    pub fn load(path: &Path) -> Result<Users, UsersFileError> {
        let read = |source| UsersFileError::Read {
            path: path.to_path_buf(),
            source,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_USERS_FILE {
            return Err(UsersFileError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        Users::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Users, UsersFileError> {
        let mut hashes = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let bad = |problem: String| UsersFileError::Line {
                path: path.to_path_buf(),
                line: n + 1,
                problem,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, hash)) = line.split_once(':') else {
                return Err(bad("expected NAME:HASH".into()));
            };
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                return Err(bad("a user name has 1 to 64 printable characters".into()));
            }
            let hash = Hash::parse(hash.trim()).map_err(bad)?;
            if hashes.insert(name.to_string(), hash).is_some() {
                return Err(bad(format!("user {name:?} is listed twice")));
            }
        }
        if hashes.is_empty() {
            return Err(UsersFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Users {
            hashes,
            key: rand::random(),
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The user, if `name` and `password` are theirs. Blocking (a hash costs tens of
    /// milliseconds): call it off the runtime's threads. An unknown name costs the same as
    /// a wrong password.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        // Length-prefixed, so that no other name and password give the same key.
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac.update(password.as_bytes());
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let now = Instant::now();
        {
            let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            if cache
                .get(&tag)
                .is_some_and(|at| now.duration_since(*at) < VERIFIED_FOR)
            {
                return true;
            }
        }
        let ok = match self.hashes.get(name) {
            Some(hash) => hash.verify(password),
            None => {
                // The same work as for a known name, so that timing does not tell names.
                let _ = dummy_hash().verify(password);
                false
            }
        };
        if ok {
            let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
            cache.retain(|_, at| now.duration_since(*at) < VERIFIED_FOR);
            if cache.len() >= MAX_VERIFIED {
                cache.clear();
            }
            cache.insert(tag, now);
        }
        ok
    }
}

/// An argon2 hash of nothing anyone knows, made once, checked for unknown user names.
fn dummy_hash() -> &'static Hash {
    static DUMMY: std::sync::OnceLock<Hash> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: [u8; 16] = rand::random();
        let text: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Hash::Argon2(hash_password(&text).unwrap_or_default())
    })
}

/// Hashing a password failed.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password: {0}")]
pub struct HashError(String);

/// An argon2id PHC string of `password` with a random salt and the library's default
/// parameters (OWASP's: 19 MiB, two passes): what `filmd hash-password` prints.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// The name and password of an `Authorization: Basic` header (RFC 7617), if it is one.
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") || value.len() > 4 * MAX_CREDENTIAL {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

/// Per-process secret for the forms' anti-forgery tokens.
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl CsrfKey {
    pub fn random() -> CsrfKey {
        CsrfKey(rand::random())
    }

    fn mac(&self, user: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(b"filmd console form\0");
        mac.update(user.as_bytes());
        mac
    }

    /// The token `user`'s forms carry: HMAC-SHA256 of the user under the process's key, in
    /// hex. It changes with each start, so a page from before a restart must be reloaded.
    pub fn token(&self, user: &str) -> String {
        self.mac(user)
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `token` is `user`'s (compared in constant time).
    pub fn check(&self, user: &str, token: &str) -> bool {
        let Some(bytes) = hex(token) else {
            return false;
        };
        self.mac(user).verify_slice(&bytes).is_ok()
    }
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `htpasswd -nbB -C 5 admin secret` (Apache 2.4).
    const BCRYPT_SECRET: &str = "$2y$05$maEpGMS3Xl.3b2l44q/FWuYqabM3LhXAtjZ2ntUGr3FYClPExcms.";

    #[test]
    fn argon2_and_bcrypt_users_log_in_with_their_password_only() {
        let argon = hash_password("hunter2").unwrap();
        assert!(argon.starts_with("$argon2id$v=19$"), "{argon}");
        let text = format!("# console users\n\nalice:{argon}\nbob:{BCRYPT_SECRET}\n");
        let users = Users::parse(&text, Path::new("users")).expect("valid");
        assert!(users.verify("alice", "hunter2"));
        assert!(users.verify("alice", "hunter2"), "again, from the cache");
        assert!(!users.verify("alice", "hunter3"));
        assert!(!users.verify("bob", "hunter2"));
        assert!(users.verify("bob", "secret"));
        assert!(!users.verify("carol", "secret"));
        assert!(!users.verify("", ""));
    }

    #[test]
    fn bad_users_files_name_the_line() {
        for (text, problem) in [
            ("alice\n", "2:"),
            ("alice:plain\n", "argon2"),
            ("alice:$2y$05$short\n", "60"),
            ("alice:$argon2id$garbage\n", "PHC"),
            ("# nobody\n", "names no user"),
        ] {
            let text = format!("# users\n{text}");
            let e = Users::parse(&text, Path::new("u")).unwrap_err().to_string();
            assert!(e.contains(problem), "{text:?}: {e}");
        }
        let twice = format!("a:{BCRYPT_SECRET}\na:{BCRYPT_SECRET}\n");
        let e = Users::parse(&twice, Path::new("u"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("u:2") && e.contains("twice"), "{e}");
    }

    #[test]
    fn basic_credentials_are_decoded_and_other_schemes_ignored() {
        // RFC 7617 section 2's example.
        assert_eq!(
            basic_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(("Aladdin".into(), "open sesame".into()))
        );
        assert_eq!(
            basic_credentials("basic YTpiOmM="),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(
            basic_credentials("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            None
        );
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Basic bm9jb2xvbg=="), None);
    }

    #[test]
    fn form_tokens_belong_to_their_user_and_process() {
        let key = CsrfKey::random();
        let token = key.token("alice");
        assert!(key.check("alice", &token));
        assert!(!key.check("bob", &token));
        assert!(!CsrfKey::random().check("alice", &token));
        assert!(!key.check("alice", ""));
        assert!(!key.check("alice", &token[..62]));
    }
}
