//! Where a DICOM peer listens, written `AE@host:port` in the configuration and in the
//! operator's views: the called AE title (PS3.5 6.2, VR AE) and its TCP address.

use std::fmt;
use std::str::FromStr;

/// A peer application entity: its AE title and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Destination {
    /// The called AE title, without padding.
    pub ae_title: String,
    /// A host name or an IP address; an IPv6 address without its brackets.
    pub host: String,
    pub port: u16,
}

/// Why a destination's text is not `AE@host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("destination {text:?}: {why} (expected AE@host:port)")]
pub struct DestinationError {
    pub text: String,
    pub why: String,
}

/// An AE value (PS3.5 Table 6.2-1): 1 to 16 characters of the default repertoire
/// without backslash or control characters; leading and trailing spaces do not count.
pub fn check_ae_title(ae: &str) -> Result<(), String> {
    if ae.is_empty() {
        return Err("the AE title is empty".into());
    }
    if ae.chars().count() > 16 {
        return Err(format!("the AE title {ae:?} is longer than 16 characters"));
    }
    if let Some(c) = ae
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control() || *c == '\\')
    {
        return Err(format!("the AE title {ae:?} contains {c:?}"));
    }
    Ok(())
}

/// A DNS name (letters, digits, '-', dots between labels) or an IPv4 address.
fn check_host(host: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(format!("{host:?} is not a host name or an IP address"));
    }
    Ok(())
}

impl FromStr for Destination {
    type Err = DestinationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |why: String| DestinationError {
            text: text.to_string(),
            why,
        };
        // The host part never holds '@'; an AE title may.
        let (ae, address) = text
            .rsplit_once('@')
            .ok_or_else(|| fail("no '@' between the AE title and the host".into()))?;
        let ae = ae.trim();
        check_ae_title(ae).map_err(fail)?;
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (v6, port) = rest
                .split_once("]:")
                .ok_or_else(|| fail("an IPv6 address needs [address]:port".into()))?;
            v6.parse::<std::net::Ipv6Addr>()
                .map_err(|_| fail(format!("{v6:?} is not an IPv6 address")))?;
            (v6, port)
        } else {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| fail("no ':' before the port".into()))?;
            if host.contains(':') {
                return Err(fail("an IPv6 address is written in brackets".into()));
            }
            check_host(host).map_err(fail)?;
            (host, port)
        };
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| fail(format!("the port {port:?} is not 1 to 65535")))?;
        Ok(Destination {
            ae_title: ae.to_string(),
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "{}@[{}]:{}", self.ae_title, self.host, self.port)
        } else {
            write!(f, "{}@{}:{}", self.ae_title, self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse_and_print_back() {
        for (text, ae, host, port) in [
            ("ORTHANC@127.0.0.1:4242", "ORTHANC", "127.0.0.1", 4242),
            ("PACS@pacs.example.org:104", "PACS", "pacs.example.org", 104),
            ("STORE SCP@[::1]:11112", "STORE SCP", "::1", 11112),
            ("A@B@host:1", "A@B", "host", 1),
            ("SIXTEEN_CHARS_AE@h:65535", "SIXTEEN_CHARS_AE", "h", 65535),
        ] {
            let d: Destination = text.parse().unwrap();
            assert_eq!(
                (d.ae_title.as_str(), d.host.as_str(), d.port),
                (ae, host, port)
            );
            assert_eq!(d.to_string(), text);
        }
    }

    #[test]
    fn malformed_destinations_say_why() {
        for (text, why) in [
            ("127.0.0.1:4242", "no '@'"),
            ("@127.0.0.1:4242", "empty"),
            ("SEVENTEEN_CHARS_A@h:1", "longer than 16"),
            ("BACK\\SLASH@h:1", "contains"),
            ("TAB\tAE@h:1", "contains"),
            ("AE@host", "no ':'"),
            ("AE@host:0", "1 to 65535"),
            ("AE@host:65536", "1 to 65535"),
            ("AE@host:port", "1 to 65535"),
            ("AE@:104", "host is empty"),
            ("AE@bad_host:104", "not a host name"),
            ("AE@::1:104", "brackets"),
            ("AE@[::1]104", "[address]:port"),
            ("AE@[nonsense]:104", "not an IPv6"),
        ] {
            let e = text.parse::<Destination>().unwrap_err();
            assert!(e.to_string().contains(why), "{text}: {e}");
        }
    }
}
