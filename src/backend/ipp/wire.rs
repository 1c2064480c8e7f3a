//! A structural check of an IPP response before the ipp crate parses it.
//!
//! The crate's parser keeps every value and, for each end of a collection, clones the
//! collection built so far; it also drops nested collections recursively. A response of
//! a few megabytes that opens collections hundreds of thousands deep would cost
//! quadratic time and overflow the stack. So the encoding (RFC 8010 §3.1) is walked here
//! first, without allocating, and refused when it is truncated, holds more than
//! [`MAX_VALUES`] values, or nests collections deeper than [`MAX_COLLECTION_DEPTH`].

/// Most values accepted in one response (a Get-Jobs answer for a thousand jobs holds
/// ~5000).
pub const MAX_VALUES: usize = 50_000;
/// Deepest collection nesting accepted (`media-col` with `media-size` is 2 deep).
pub const MAX_COLLECTION_DEPTH: usize = 8;

const END_OF_ATTRIBUTES: u8 = 0x03;
const TEXT_WITH_LANGUAGE: u8 = 0x35;
const NAME_WITH_LANGUAGE: u8 = 0x36;
const BEG_COLLECTION: u8 = 0x34;
const END_COLLECTION: u8 = 0x37;

/// Checks that `bytes` is a complete IPP message header and attribute section within the
/// limits above; the document data after end-of-attributes is not looked at.
pub fn check_response(bytes: &[u8]) -> Result<(), String> {
    let mut at = 8; // version-number, status-code, request-id (RFC 8010 §3.1.1)
    if bytes.len() < at {
        return Err("shorter than an IPP header".into());
    }
    let mut values = 0usize;
    let mut depth = 0usize;
    loop {
        let Some(&tag) = bytes.get(at) else {
            return Err("no end-of-attributes tag".into());
        };
        at += 1;
        match tag {
            END_OF_ATTRIBUTES => break,
            0x00..=0x0F => {
                if depth != 0 {
                    return Err("group delimiter inside a collection".into());
                }
            }
            0x10..=0x4A => {
                let name_len = read_u16(bytes, at)?;
                at += 2 + name_len;
                let value_len = read_u16(bytes, at)?;
                at += 2 + value_len;
                if at > bytes.len() {
                    return Err("a value runs past the end".into());
                }
                if matches!(tag, TEXT_WITH_LANGUAGE | NAME_WITH_LANGUAGE) {
                    with_language(&bytes[at - value_len..at])?;
                }
                values += 1;
                if values > MAX_VALUES {
                    return Err(format!("more than {MAX_VALUES} values"));
                }
                match tag {
                    BEG_COLLECTION => {
                        depth += 1;
                        if depth > MAX_COLLECTION_DEPTH {
                            return Err(format!(
                                "collections nested deeper than {MAX_COLLECTION_DEPTH}"
                            ));
                        }
                    }
                    END_COLLECTION => {
                        depth = depth
                            .checked_sub(1)
                            .ok_or("end of a collection that was not begun")?;
                    }
                    _ => {}
                }
            }
            other => return Err(format!("unknown tag 0x{other:02x}")),
        }
    }
    if depth != 0 {
        return Err("unterminated collection".into());
    }
    Ok(())
}

/// A textWithLanguage or nameWithLanguage value holds two strings, each after its
/// 2-byte length (RFC 8010 §3.9). The ipp crate slices them by those lengths without
/// looking (found by fuzz/fuzz_targets/ipp_response.rs: a panic), so they are checked
/// here.
fn with_language(value: &[u8]) -> Result<(), String> {
    let language = read_u16(value, 0)?;
    let text = read_u16(value, 2 + language)?;
    if 2 + language + 2 + text > value.len() {
        return Err("a text or name with language runs past its value".into());
    }
    Ok(())
}

fn read_u16(bytes: &[u8], at: usize) -> Result<usize, String> {
    match bytes.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]]) as usize),
        None => Err("truncated".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: [u8; 8] = [1, 1, 0, 0, 0, 0, 0, 1];

    fn value(tag: u8, name: &str, value: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        v.extend((name.len() as u16).to_be_bytes());
        v.extend(name.as_bytes());
        v.extend((value.len() as u16).to_be_bytes());
        v.extend(value);
        v
    }

    fn message(body: &[Vec<u8>]) -> Vec<u8> {
        let mut m = HEADER.to_vec();
        m.push(0x01);
        for b in body {
            m.extend(b);
        }
        m.push(END_OF_ATTRIBUTES);
        m
    }

    #[test]
    fn accepts_values_and_shallow_collections() {
        let m = message(&[
            value(0x21, "job-id", &7i32.to_be_bytes()),
            value(BEG_COLLECTION, "media-col", &[]),
            value(0x4A, "", b"media-size"),
            value(BEG_COLLECTION, "", &[]),
            value(END_COLLECTION, "", &[]),
            value(END_COLLECTION, "", &[]),
        ]);
        assert_eq!(check_response(&m), Ok(()));
        // Document data after end-of-attributes is not inspected.
        let mut with_data = m.clone();
        with_data.extend([0xFF; 10]);
        assert_eq!(check_response(&with_data), Ok(()));
    }

    #[test]
    fn refuses_truncation_and_bad_tags() {
        let m = message(&[value(0x21, "job-id", &7i32.to_be_bytes())]);
        for cut in 0..m.len() {
            assert!(check_response(&m[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = HEADER.to_vec();
        bad.extend([0x01, 0x7F]);
        assert_eq!(check_response(&bad), Err("unknown tag 0x7f".into()));
    }

    /// fuzz/corpus/ipp_response/crash-f8834414…: a nameWithLanguage whose inner
    /// length (300) ran past its 5-byte value made the ipp crate's parser panic.
    #[test]
    fn refuses_strings_with_language_longer_than_their_value() {
        let mut inner = Vec::new();
        inner.extend(2u16.to_be_bytes());
        inner.extend(b"en");
        inner.extend(5u16.to_be_bytes());
        inner.extend(b"hello");
        for tag in [TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE] {
            assert_eq!(check_response(&message(&[value(tag, "a", &inner)])), Ok(()));
            for cut in 0..inner.len() {
                let m = message(&[value(tag, "a", &inner[..cut])]);
                assert!(check_response(&m).is_err(), "tag {tag:#x}, cut at {cut}");
            }
        }
        let long = [0, 2, b'e', b'n', 0x01, 0x2C]; // a 300-byte name in 6 bytes
        let m = message(&[value(NAME_WITH_LANGUAGE, "job-name", &long)]);
        assert!(check_response(&m).is_err());
    }

    #[test]
    fn refuses_deep_or_unbalanced_collections() {
        let deep: Vec<Vec<u8>> = (0..=MAX_COLLECTION_DEPTH)
            .map(|_| value(BEG_COLLECTION, "c", &[]))
            .collect();
        assert!(
            check_response(&message(&deep))
                .unwrap_err()
                .contains("nested")
        );
        let open = message(&[value(BEG_COLLECTION, "c", &[])]);
        assert!(check_response(&open).is_err());
        let close = message(&[value(END_COLLECTION, "", &[])]);
        assert!(check_response(&close).is_err());
    }

    #[test]
    fn refuses_too_many_values() {
        let one = value(0x44, "", b"x");
        let mut m = HEADER.to_vec();
        m.push(0x04);
        for _ in 0..=MAX_VALUES {
            m.extend(&one);
        }
        m.push(END_OF_ATTRIBUTES);
        assert!(check_response(&m).unwrap_err().contains("values"));
    }
}
