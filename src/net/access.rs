//! Access rules: which peers may open an association, by source address and calling AE
//! title, decided from the A-ASSOCIATE-RQ before negotiation. Pure: no socket, no
//! configuration file, no logging; the service applies the rules of the queue the called
//! AE title selects ([`super::Service::admit`]).
//!
//! A refusal is an A-ASSOCIATE-RJ, permanent, source "DICOM UL service-user" (PS3.8 7.1.1.9
//! and Table 9-21): reason 1 "no reason given" for a source address, reason 3 "calling AE
//! title not recognized" for a calling AE title. The address is checked first, so that a
//! peer from a network that is not allowed learns nothing about the AE titles allowed.
//!
//! AE titles are compared as PS3.5 6.2 defines the AE value representation: leading and
//! trailing spaces are not significant, everything else is, case included (AE is not CS:
//! PS3.5 neither restricts it to upper case nor folds case, and filmd's called AE titles
//! are compared the same way).

use super::association::VERIFICATION_SOP_CLASS;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceUserReason, AssociationRJSource,
    AssociationRQ,
};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

/// Longest AE title, in characters (PS3.5 Table 6.2-1).
pub const AE_TITLE_MAX: usize = 16;

/// What an access rule in the configuration can get wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessRuleError {
    #[error("{0:?}: an empty pattern (or only spaces) matches no AE title")]
    EmptyPattern(String),
    #[error(
        "{pattern:?}: character {ch:?} cannot occur in an AE title (printable ASCII \
         except backslash, PS3.5 6.2)"
    )]
    PatternCharacter { pattern: String, ch: char },
    #[error(
        "{pattern:?} needs at least {min_len} characters, and an AE title has at most 16: \
         it can never match"
    )]
    PatternTooLong { pattern: String, min_len: usize },
    #[error("{0:?} is not a network: write ADDRESS/PREFIX, e.g. 10.1.0.0/16 or fd00::/8")]
    NotANetwork(String),
    #[error("{text:?}: the prefix length must be a number from 0 to {max}")]
    Prefix { text: String, max: u8 },
    #[error("{text:?} has host bits set: write the network {network}, or {host} for the one host")]
    HostBits {
        text: String,
        network: IpNetwork,
        host: IpNetwork,
    },
}

/// A calling AE title pattern: `*` matches any run of characters (none included), `?`
/// exactly one, any other character itself. Surrounding spaces are not significant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AeGlob {
    /// Trimmed, with runs of `*` collapsed to one.
    pattern: Vec<char>,
}

impl AeGlob {
    /// Parses a pattern; refuses one that no AE title could ever match.
    pub fn parse(text: &str) -> Result<AeGlob, AccessRuleError> {
        let trimmed = text.trim_matches(' ');
        if trimmed.is_empty() {
            return Err(AccessRuleError::EmptyPattern(text.to_string()));
        }
        if let Some(ch) = trimmed
            .chars()
            .find(|&c| !(' '..='~').contains(&c) || c == '\\')
        {
            return Err(AccessRuleError::PatternCharacter {
                pattern: text.to_string(),
                ch,
            });
        }
        let mut pattern: Vec<char> = Vec::with_capacity(trimmed.len());
        for c in trimmed.chars() {
            if !(c == '*' && pattern.last() == Some(&'*')) {
                pattern.push(c);
            }
        }
        let min_len = pattern.iter().filter(|&&c| c != '*').count();
        if min_len > AE_TITLE_MAX {
            return Err(AccessRuleError::PatternTooLong {
                pattern: text.to_string(),
                min_len,
            });
        }
        Ok(AeGlob { pattern })
    }

    /// Whether `ae_title` (surrounding spaces ignored) matches.
    pub fn matches(&self, ae_title: &str) -> bool {
        let title: Vec<char> = ae_title.trim_matches(' ').chars().collect();
        // Greedy match with one backtrack point (the last `*`): linear in practice, and
        // at most pattern × title steps, both bounded by the PDU's 16-byte fields.
        let (p, t) = (&self.pattern, &title);
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some('*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(&c) if c == '?' || c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        pi = sp + 1;
                        ti = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

impl FromStr for AeGlob {
    type Err = AccessRuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AeGlob::parse(s)
    }
}

impl fmt::Display for AeGlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.pattern.iter().try_for_each(|c| write!(f, "{c}"))
    }
}

/// An IPv4 or IPv6 network in CIDR notation (RFC 4632, RFC 4291 2.3), e.g. `10.1.0.0/16`;
/// a bare address is the one host (`/32`, `/128`). Host bits must be zero. An IPv6
/// network inside the IPv4-mapped range `::ffff:0:0/96` is the IPv4 network it maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(text: &str) -> Result<IpNetwork, AccessRuleError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address: IpAddr = addr
            .parse()
            .map_err(|_| AccessRuleError::NotANetwork(text.to_string()))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= max && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(AccessRuleError::Prefix {
                        text: text.to_string(),
                        max,
                    });
                }
            },
        };
        let network = IpNetwork {
            address: mask(address, prefix),
            prefix,
        };
        if network.address != address {
            return Err(AccessRuleError::HostBits {
                text: text.to_string(),
                network: network.canonical(),
                host: IpNetwork {
                    address,
                    prefix: max,
                }
                .canonical(),
            });
        }
        Ok(network.canonical())
    }

    /// IPv4-mapped IPv6 networks as the IPv4 network they map.
    fn canonical(self) -> IpNetwork {
        match self.address {
            IpAddr::V6(v6) if self.prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => IpNetwork {
                    address: IpAddr::V4(v4),
                    prefix: self.prefix - 96,
                },
                None => self,
            },
            _ => self,
        }
    }

    /// Whether `address` lies in this network. An IPv4-mapped IPv6 address (a peer of a
    /// dual-stack listener) is taken as the IPv4 address it maps.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical_address(address);
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix) == self.address
    }
}

impl FromStr for IpNetwork {
    type Err = AccessRuleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IpNetwork::parse(s)
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address; any other unchanged.
pub fn canonical_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// Why an association attempt was refused: which rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The source address is in none of the allowed networks.
    #[error("source address {address} is not in allow_from")]
    SourceAddress { address: IpAddr },
    /// The calling AE title matches none of the allowed patterns.
    #[error("calling AE title {calling_ae_title:?} matches no allow_calling pattern")]
    CallingAeTitle { calling_ae_title: String },
}

impl Refusal {
    /// The A-ASSOCIATE-RJ reason (PS3.8 Table 9-21, source 1 "DICOM UL service-user").
    pub fn reason(&self) -> AssociationRJServiceUserReason {
        match self {
            Refusal::SourceAddress { .. } => AssociationRJServiceUserReason::NoReasonGiven,
            Refusal::CallingAeTitle { .. } => {
                AssociationRJServiceUserReason::CallingAETitleNotRecognized
            }
        }
    }

    /// The A-ASSOCIATE-RJ to send: permanent, service user, [`Refusal::reason`].
    pub fn rejection(&self) -> AssociationRJ {
        AssociationRJ {
            result: AssociationRJResult::Permanent,
            source: AssociationRJSource::ServiceUser(self.reason()),
        }
    }
}

/// What a service learns of an association attempt before it is negotiated. More may
/// come (the TLS client identity), hence `#[non_exhaustive]`: build it with
/// [`AssociationAttempt::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssociationAttempt {
    /// The TCP peer, as the listener saw it.
    pub peer: SocketAddr,
    /// Without surrounding spaces (PS3.5 6.2).
    pub calling_ae_title: String,
    /// Without surrounding spaces.
    pub called_ae_title: String,
    /// The A-ASSOCIATE-RQ proposes Verification and nothing else.
    pub verification_only: bool,
}

impl AssociationAttempt {
    pub fn new(peer: SocketAddr, rq: &AssociationRQ) -> AssociationAttempt {
        AssociationAttempt {
            peer,
            calling_ae_title: rq.calling_ae_title.trim().to_string(),
            called_ae_title: rq.called_ae_title.trim().to_string(),
            verification_only: proposes_only_verification(rq),
        }
    }
}

/// Whether the A-ASSOCIATE-RQ proposes at least one presentation context and all of them
/// for the Verification SOP class (PS3.4 A.4): a C-ECHO and nothing else.
pub fn proposes_only_verification(rq: &AssociationRQ) -> bool {
    !rq.presentation_contexts.is_empty()
        && rq
            .presentation_contexts
            .iter()
            .all(|pc| pc.abstract_syntax.trim_end_matches(['\0', ' ']) == VERIFICATION_SOP_CLASS)
}

/// The access rules of one queue. An empty list allows everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    /// Calling AE title patterns allowed.
    pub allow_calling: Vec<AeGlob>,
    /// Source networks allowed.
    pub allow_from: Vec<IpNetwork>,
}

impl AccessRules {
    /// Whether these rules let any peer in.
    pub fn allows_everyone(&self) -> bool {
        self.allow_calling.is_empty() && self.allow_from.is_empty()
    }

    /// Checks a peer: its address first, then its calling AE title.
    pub fn check(&self, peer: IpAddr, calling_ae_title: &str) -> Result<(), Refusal> {
        if !self.allow_from.is_empty() && !self.allow_from.iter().any(|n| n.contains(peer)) {
            return Err(Refusal::SourceAddress {
                address: canonical_address(peer),
            });
        }
        if !self.allow_calling.is_empty()
            && !self
                .allow_calling
                .iter()
                .any(|g| g.matches(calling_ae_title))
        {
            return Err(Refusal::CallingAeTitle {
                calling_ae_title: calling_ae_title.trim_matches(' ').to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::PresentationContextProposed;

    fn glob(p: &str) -> AeGlob {
        AeGlob::parse(p).unwrap()
    }

    fn net(p: &str) -> IpNetwork {
        IpNetwork::parse(p).unwrap()
    }

    fn ip(a: &str) -> IpAddr {
        a.parse().unwrap()
    }

    #[test]
    fn globs_match_star_question_mark_and_exact_characters() {
        let cases = [
            ("CT1", "CT1", true),
            ("CT1", "  CT1  ", true),
            ("CT1", "CT12", false),
            ("CT1", "ct1", false),
            ("MR*", "MR", true),
            ("MR*", "MR_ROOM_2", true),
            ("MR*", "XMR", false),
            ("*ROOM?", "MR_ROOM1", true),
            ("*ROOM?", "MR_ROOM", false),
            ("*ROOM?", "MR_ROOM12", false),
            ("A*B*C", "AXXBYYBZC", true),
            ("A*B*C", "AXXBYYBZ", false),
            ("?", "Q", true),
            ("?", "", false),
            ("*", "ANYTHING", true),
            ("a**b", "ab", true),
            ("CT 1", "CT 1", true),
            ("CT 1", "CT1", false),
        ];
        for (pattern, title, want) in cases {
            assert_eq!(
                glob(pattern).matches(title),
                want,
                "{pattern:?} vs {title:?}"
            );
        }
        assert_eq!(glob(" MR** ").to_string(), "MR*");
    }

    #[test]
    fn globs_that_can_never_match_an_ae_title_are_refused() {
        assert!(matches!(
            AeGlob::parse("   "),
            Err(AccessRuleError::EmptyPattern(_))
        ));
        assert!(matches!(
            AeGlob::parse("CT\\1"),
            Err(AccessRuleError::PatternCharacter { ch: '\\', .. })
        ));
        assert!(matches!(
            AeGlob::parse("CT\n"),
            Err(AccessRuleError::PatternCharacter { ch: '\n', .. })
        ));
        assert!(matches!(
            AeGlob::parse("CTÄ"),
            Err(AccessRuleError::PatternCharacter { ch: 'Ä', .. })
        ));
        assert!(matches!(
            AeGlob::parse("ABCDEFGHIJKLMNOPQ"),
            Err(AccessRuleError::PatternTooLong { min_len: 17, .. })
        ));
        // Sixteen characters and stars fit.
        assert!(glob("*ABCDEFGHIJKLMNOP*").matches("ABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn ipv4_networks_contain_their_addresses() {
        let n = net("10.1.0.0/16");
        assert!(n.contains(ip("10.1.0.0")));
        assert!(n.contains(ip("10.1.255.255")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(!n.contains(ip("::1")));
        assert!(net("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1/32").contains(ip("127.0.0.2")));
        assert_eq!(net("127.0.0.1").to_string(), "127.0.0.1/32");
    }

    #[test]
    fn ipv6_networks_contain_their_addresses_and_mapped_ones_are_ipv4() {
        let n = net("fd00:1::/32");
        assert!(n.contains(ip("fd00:1::5")));
        assert!(n.contains(ip("fd00:1:ffff::")));
        assert!(!n.contains(ip("fd00:2::1")));
        assert!(!n.contains(ip("10.0.0.1")));
        assert!(net("::1/128").contains(ip("::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
        // A dual-stack listener sees an IPv4 peer as ::ffff:a.b.c.d: IPv4 rules apply.
        assert!(net("10.1.0.0/16").contains(ip("::ffff:10.1.2.3")));
        assert!(!net("10.1.0.0/16").contains(ip("::ffff:10.2.2.3")));
        assert!(!net("::/0").contains(ip("::ffff:10.1.2.3")));
        // An IPv4-mapped rule is the IPv4 rule.
        let mapped = net("::ffff:10.1.0.0/112");
        assert_eq!(mapped, net("10.1.0.0/16"));
        assert_eq!(mapped.to_string(), "10.1.0.0/16");
        assert!(mapped.contains(ip("10.1.9.9")));
    }

    #[test]
    fn bad_networks_are_refused_with_the_reason() {
        assert!(matches!(
            IpNetwork::parse("10.1.0/16"),
            Err(AccessRuleError::NotANetwork(_))
        ));
        assert!(matches!(
            IpNetwork::parse("[::1]/128"),
            Err(AccessRuleError::NotANetwork(_))
        ));
        assert!(matches!(
            IpNetwork::parse("localhost"),
            Err(AccessRuleError::NotANetwork(_))
        ));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "::/129", "::/x"] {
            assert!(
                matches!(IpNetwork::parse(bad), Err(AccessRuleError::Prefix { .. })),
                "{bad}"
            );
        }
        let Err(e) = IpNetwork::parse("10.1.2.3/16") else {
            panic!("host bits accepted")
        };
        assert_eq!(
            e.to_string(),
            "\"10.1.2.3/16\" has host bits set: write the network 10.1.0.0/16, or \
             10.1.2.3/32 for the one host"
        );
        assert!(matches!(
            IpNetwork::parse("fd00::1/8"),
            Err(AccessRuleError::HostBits { .. })
        ));
    }

    fn rules(calling: &[&str], from: &[&str]) -> AccessRules {
        AccessRules {
            allow_calling: calling.iter().map(|p| glob(p)).collect(),
            allow_from: from.iter().map(|n| net(n)).collect(),
        }
    }

    #[test]
    fn empty_rules_allow_everyone() {
        let r = AccessRules::default();
        assert!(r.allows_everyone());
        assert_eq!(r.check(ip("203.0.113.1"), "ANY"), Ok(()));
    }

    #[test]
    fn the_address_is_checked_before_the_calling_ae_title() {
        let r = rules(&["CT1", "MR*"], &["10.1.0.0/16", "127.0.0.1/32"]);
        assert_eq!(r.check(ip("127.0.0.1"), "CT1"), Ok(()));
        assert_eq!(r.check(ip("10.1.4.4"), "MR_2 "), Ok(()));
        let address = r.check(ip("127.0.0.2"), "NOBODY").unwrap_err();
        assert_eq!(
            address,
            Refusal::SourceAddress {
                address: ip("127.0.0.2")
            }
        );
        assert_eq!(
            address.reason(),
            AssociationRJServiceUserReason::NoReasonGiven
        );
        let calling = r.check(ip("127.0.0.1"), " CT2 ").unwrap_err();
        assert_eq!(
            calling,
            Refusal::CallingAeTitle {
                calling_ae_title: "CT2".into()
            }
        );
        assert_eq!(
            calling.rejection(),
            AssociationRJ {
                result: AssociationRJResult::Permanent,
                source: AssociationRJSource::ServiceUser(
                    AssociationRJServiceUserReason::CallingAETitleNotRecognized
                ),
            }
        );
        // Only one kind of rule: the other allows everyone.
        assert_eq!(
            rules(&["CT1"], &[]).check(ip("198.51.100.7"), "CT1"),
            Ok(())
        );
        assert_eq!(rules(&[], &["::1/128"]).check(ip("::1"), "X"), Ok(()));
        assert!(
            rules(&[], &["::1/128"])
                .check(ip("::ffff:127.0.0.1"), "X")
                .is_err()
        );
    }

    fn rq(abstract_syntaxes: &[&str]) -> AssociationRQ {
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: " SCU ".into(),
            called_ae_title: "FILMD ".into(),
            application_context_name: "1.2.840.10008.3.1.1.1".into(),
            presentation_contexts: abstract_syntaxes
                .iter()
                .enumerate()
                .map(|(i, a)| PresentationContextProposed {
                    id: 2 * i as u8 + 1,
                    abstract_syntax: a.to_string(),
                    transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
                })
                .collect(),
            user_variables: vec![],
        }
    }

    #[test]
    fn verification_only_means_every_context_and_at_least_one() {
        assert!(proposes_only_verification(&rq(&[VERIFICATION_SOP_CLASS])));
        assert!(proposes_only_verification(&rq(&[
            VERIFICATION_SOP_CLASS,
            "1.2.840.10008.1.1\0"
        ])));
        assert!(!proposes_only_verification(&rq(&[])));
        assert!(!proposes_only_verification(&rq(&[
            VERIFICATION_SOP_CLASS,
            "1.2.840.10008.5.1.1.9"
        ])));
        assert!(!proposes_only_verification(&rq(&["1.2.840.10008.1.1.1"])));
        let attempt = AssociationAttempt::new("127.0.0.1:4000".parse().unwrap(), &rq(&[]));
        assert_eq!(attempt.calling_ae_title, "SCU");
        assert_eq!(attempt.called_ae_title, "FILMD");
        assert!(!attempt.verification_only);
    }
}
