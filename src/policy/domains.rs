//! Allowed e-mail domain patterns (SIP-209 `allowed_email_domains`): `example.com` (exactly that
//! domain), `*.example.com` (its subdomains, at any depth, not the domain itself) and
//! `example.*` (that name under any one top-level label of 2–63 letters). Comparison ignores
//! case. Also splits Superset's stored recipient lists (comma, semicolon or space separated).

/// One parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainPattern {
    /// `example.com`.
    Exact(String),
    /// `*.example.com`.
    Subdomains(String),
    /// `example.*`.
    AnyTopLevel(String),
}

impl DomainPattern {
    /// Parses a pattern, or says why it is not one.
    pub fn parse(text: &str) -> Result<DomainPattern, String> {
        let lower = text.trim().to_ascii_lowercase();
        let labels_ok = |name: &str| {
            !name.is_empty()
                && name.split('.').all(|l| {
                    !l.is_empty()
                        && !l.starts_with('-')
                        && !l.ends_with('-')
                        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                })
        };
        let pattern = if let Some(rest) = lower.strip_prefix("*.") {
            DomainPattern::Subdomains(rest.to_owned())
        } else if let Some(rest) = lower.strip_suffix(".*") {
            DomainPattern::AnyTopLevel(rest.to_owned())
        } else {
            DomainPattern::Exact(lower.clone())
        };
        let name = match &pattern {
            DomainPattern::Exact(n)
            | DomainPattern::Subdomains(n)
            | DomainPattern::AnyTopLevel(n) => n,
        };
        if text.trim() != text || name.contains('*') || !labels_ok(name) {
            return Err(format!(
                "`{text}` is not a domain pattern: use `example.com`, `*.example.com` or `example.*`"
            ));
        }
        Ok(pattern)
    }

    /// Whether `domain` (the part after `@`) matches.
    pub fn matches(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        match self {
            DomainPattern::Exact(name) => domain == *name,
            DomainPattern::Subdomains(name) => domain
                .strip_suffix(name.as_str())
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|head| !head.is_empty() && !head.ends_with('.')),
            DomainPattern::AnyTopLevel(name) => domain
                .strip_prefix(name.as_str())
                .and_then(|tail| tail.strip_prefix('.'))
                .is_some_and(|tld| {
                    (2..=63).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
                }),
        }
    }
}

/// Whether `address` is in one of `patterns`' domains.
pub fn address_allowed(address: &str, patterns: &[DomainPattern]) -> bool {
    match address.rsplit_once('@') {
        Some((local, domain)) if !local.is_empty() => patterns.iter().any(|p| p.matches(domain)),
        _ => false,
    }
}

/// The addresses of a stored recipient list (`a@x.com, b@y.com; c@z.com`).
pub fn split_addresses(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', ';', ' ', '\t', '\n'])
        .filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_against_patterns() {
        let table: &[(&str, &str, bool)] = &[
            ("example.com", "a@example.com", true),
            ("example.com", "a@EXAMPLE.COM", true),
            ("Example.Com", "a@example.com", true),
            ("example.com", "a@sub.example.com", false),
            ("example.com", "a@example.org", false),
            ("example.com", "a@badexample.com", false),
            ("*.example.com", "a@sub.example.com", true),
            ("*.example.com", "a@deep.sub.example.com", true),
            ("*.example.com", "a@example.com", false),
            ("*.example.com", "a@badexample.com", false),
            ("*.example.com", "a@sub.example.com.evil.io", false),
            ("example.*", "a@example.com", true),
            ("example.*", "a@example.de", true),
            ("example.*", "a@example.museum", true),
            ("example.*", "a@example.co.uk", false),
            ("example.*", "a@sub.example.com", false),
            ("example.*", "a@example.c", false),
            ("example.*", "a@example.123", false),
            ("example.*", &format!("a@example.{}", "a".repeat(63)), true),
            ("example.*", &format!("a@example.{}", "a".repeat(64)), false),
            ("example.com", "example.com", false),
            ("example.com", "@example.com", false),
        ];
        for (pattern, address, expected) in table {
            let p = DomainPattern::parse(pattern).unwrap();
            assert_eq!(
                address_allowed(address, &[p]),
                *expected,
                "{address} vs {pattern}"
            );
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "",
            "*",
            "*.",
            "ex*mple.com",
            "*.*.com",
            "example..com",
            " example.com",
            "-a.com",
            "a_b.com",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn stored_lists_split_on_commas_semicolons_and_spaces() {
        let list = "a@x.com, b@y.com;c@z.com  d@w.com";
        assert_eq!(
            split_addresses(list).collect::<Vec<_>>(),
            ["a@x.com", "b@y.com", "c@z.com", "d@w.com"]
        );
    }
}
