//! Escaping text for XML (XML 1.0 2.4, 2.11, 3.3.3), for the two XML documents filmd
//! writes: the XMP packet of its PDF/A files and its audit messages.

/// Appends `text` escaped for an attribute value or element content. Tab, line feed and
/// carriage return become character references (an attribute value would otherwise
/// normalise them to spaces, and a parser turns a literal `\r` into `\n`); characters
/// XML 1.0 does not allow (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `text` escaped as [`escape_into`] does.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_line_ends_are_references_and_forbidden_characters_replaced() {
        assert_eq!(
            escape("a<b>&\"c'\n\r\t\u{1}\u{FFFF}é"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#13;&#9;\u{FFFD}\u{FFFD}é"
        );
        assert_eq!(
            escape("<a href=\"x\">R&D's</a>\r"),
            "&lt;a href=&quot;x&quot;&gt;R&amp;D&apos;s&lt;/a&gt;&#13;"
        );
    }
}
