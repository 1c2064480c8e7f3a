//! The pages' HTML: the one escaping function every interpolated value goes through (AE
//! titles, labels and errors come from the network), the frame every page shares, and
//! the small pieces the pages repeat (action forms, times).

use std::fmt::Write;

/// `text` escaped for element content and quoted attribute values (the XML escaper: its
/// five entities and character references are HTML5 too).
pub fn esc(text: &str) -> String {
    crate::xml::escape(text)
}

/// `text` for a URL path segment or query value (RFC 3986 unreserved characters kept,
/// everything else percent-encoded), to be escaped with [`esc`] in an attribute.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The navigation's entries: path and title.
const NAV: [(&str, &str); 3] = [
    ("/", "Overview"),
    ("/jobs", "Jobs"),
    ("/associations", "Associations"),
];

/// A whole page: `body` goes into `<main id="live">`, which the script replaces with the
/// same element of a fresh copy of the page when the server says something changed.
pub fn page(title: &str, active: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · filmd</title>\
         <link rel=\"stylesheet\" href=\"/static/console.css\">\
         <script src=\"/static/console.js\" defer></script></head><body>\
         <header><a class=\"brand\" href=\"/\">filmd</a><nav>",
        esc(title)
    );
    for (path, name) in NAV {
        let current = if path == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(out, "<a href=\"{path}\"{current}>{name}</a>");
    }
    let _ = writeln!(
        out,
        "</nav></header><main id=\"live\">{body}</main>\
         <footer>filmd {}</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// A POST form of one button: `action` names it for the browser test
/// (`form[data-action=…]`), `csrf` is the user's token; `extra` is more fields' HTML.
pub fn action_form(url: &str, action: &str, label: &str, csrf: &str, extra: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\" data-action=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">{extra}\
         <button type=\"submit\">{}</button></form>",
        esc(url),
        esc(action),
        esc(csrf),
        esc(label)
    )
}

/// A value or a dash.
pub fn or_dash(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.is_empty() => esc(v),
        _ => "–".into(),
    }
}

/// A duration as people say it: "3 d 4 h", "12 min", "5 s".
pub fn span(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
        s if s >= 3600 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_the_network_cannot_make_markup() {
        assert_eq!(
            esc("<script>\"x\"&'"),
            "&lt;script&gt;&quot;x&quot;&amp;&apos;"
        );
        let form = action_form("/jobs/a\"b/cancel", "cancel", "Cancel", "t<", "");
        assert!(form.contains("action=\"/jobs/a&quot;b/cancel\""), "{form}");
        assert!(form.contains("value=\"t&lt;\""), "{form}");
        assert_eq!(url("CT 1/é?"), "CT%201%2F%C3%A9%3F");
    }

    #[test]
    fn every_page_has_the_live_element_and_the_embedded_assets() {
        let p = page("Jobs <1>", "/jobs", "<p>x</p>");
        assert!(p.contains("<main id=\"live\"><p>x</p></main>"));
        assert!(p.contains("<title>Jobs &lt;1&gt; · filmd</title>"));
        assert!(p.contains("href=\"/jobs\" aria-current=\"page\""));
        assert!(!p.contains("http://") && !p.contains("https://"), "no CDN");
        assert_eq!(span(90_061), "1 d 1 h");
        assert_eq!(span(61), "1 min");
    }
}
