//! URL rules. A URL field may hold templates; it must still be an absolute http(s) URL once
//! they are filled in, which is checked by filling each `{{ ... }}` with a placeholder.

use url::Url;

use crate::errors::Report;
use crate::template::{Variables, check_template};

const ABSOLUTE: &str = "must be an absolute http(s) URL such as `https://api.example.com`";

/// A URL that may contain templates. A URL that starts with a template
/// (`{{ token.instance_url }}/services`) takes its scheme and host from the run, so only its
/// template syntax can be checked.
pub(crate) fn check_url_template(
    value: &str,
    path: &str,
    report: &mut Report,
) -> Option<Variables> {
    let variables = check_template(value, path, report)?;
    if value.starts_with("{{") {
        return Some(variables);
    }
    check_absolute(&fill_templates(value), value, path, report);
    Some(variables)
}

/// A URL without templates (documentation links).
pub(crate) fn check_url(value: &str, path: &str, report: &mut Report) {
    check_absolute(value, value, path, report);
}

fn check_absolute(filled: &str, original: &str, path: &str, report: &mut Report) {
    if original.trim() != original {
        report.error(path, format!("{ABSOLUTE}; remove the surrounding spaces"));
        return;
    }
    match Url::parse(filled) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            report.error(
                path,
                format!("{ABSOLUTE}; `{}` is not http or https", url.scheme()),
            );
        }
        Ok(_) => report.error(path, format!("{ABSOLUTE}; it has no host")),
        Err(error) => report.error(
            path,
            format!("{ABSOLUTE}: `{original}` is not one ({error})"),
        ),
    }
}

/// Replaces `{{ ... }}` with `x` (valid in a host, a path or a query) and drops `{% ... %}` and
/// `{# ... #}`.
fn fill_templates(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let close = match after.get(..2) {
            Some("{{") => Some(("}}", "x")),
            Some("{%") => Some(("%}", "")),
            Some("{#") => Some(("#}", "")),
            _ => None,
        };
        match close.and_then(|(end, fill)| after.find(end).map(|at| (at + end.len(), fill))) {
            Some((consumed, fill)) => {
                out.push_str(fill);
                rest = &after[consumed..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A browser origin: scheme, host and optional port, exactly as `Origin` headers spell it, so
/// a string comparison with the header is correct.
pub(crate) fn check_origin(value: &str, path: &str, report: &mut Report) {
    const RULE: &str = "must be an origin such as `https://app.example.com` or \
                        `http://localhost:3000` (scheme, host and port only)";
    match Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            let origin = url.origin().ascii_serialization();
            if origin != value {
                report.error(path, format!("{RULE}; did you mean `{origin}`?"));
            }
        }
        _ => report.error(path, RULE),
    }
}

#[cfg(test)]
mod tests {
    use super::fill_templates;

    #[test]
    fn templates_are_filled_with_a_placeholder() {
        assert_eq!(
            fill_templates("https://{{ sub }}.example.com/{% if a %}b{% endif %}"),
            "https://x.example.com/b"
        );
        assert_eq!(
            fill_templates("https://a.example/{x}"),
            "https://a.example/{x}"
        );
        assert_eq!(
            fill_templates("https://a.example/{{ open"),
            "https://a.example/{{ open"
        );
    }
}
