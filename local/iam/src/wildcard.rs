//! IAM's two wildcards, `*` (any run, also empty) and `?` (exactly one character), and the ARN rule built
//! on them: the six colon-separated parts of an ARN are matched one by one, the last part (the resource)
//! taking the rest of the ARN, colons included; a shorter pattern whose last part ends in `*` lets that
//! `*` run over the remaining colons ("arn:aws:s3:::*" and "arn:aws:*" both match any S3 ARN).

/// Does `pattern` match all of `text`? Iterative, backtracking only to the last `*`: linear in practice.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let same = |a: u8, b: u8| if ignore_case { a.eq_ignore_ascii_case(&b) } else { a == b };
    let (mut pi, mut ti) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, text index it has consumed up to).
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi + 1, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == b'?' {
            pi += 1;
            ti += utf8_len(t[ti]);
        } else if pi < p.len() && same(p[pi], t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((after_star, consumed)) = star {
            // Let the `*` swallow one more character and retry.
            let next = consumed + utf8_len(t[consumed]);
            star = Some((after_star, next));
            pi = after_star;
            ti = next;
        } else {
            return false;
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

/// Bytes in the UTF-8 character that starts with `lead` (so `?` is one character, not one byte).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

/// Resource and ArnLike/ArnEquals matching: part by part, case-sensitive.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern_parts: Vec<&str> = pattern.splitn(6, ':').collect();
    let mut rest = arn;
    for (i, part) in pattern_parts.iter().enumerate() {
        let last_of_pattern = i + 1 == pattern_parts.len();
        if last_of_pattern && (i == 5 || part.ends_with('*')) {
            // The resource part, or a trailing `*` that may run over the remaining colons.
            return glob(part, rest, false);
        }
        let (segment, remainder) = match rest.split_once(':') {
            Some(split) => split,
            None if last_of_pattern => (rest, ""),
            None => return false,
        };
        if !glob(part, segment, false) {
            return false;
        }
        if last_of_pattern {
            // A short pattern without a trailing `*` matches only an ARN that ends here.
            return !rest.contains(':');
        }
        rest = remainder;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        assert!(glob("s3:Get*", "s3:GetObject", false));
        assert!(glob("*", "", false));
        assert!(glob("a*b*c", "aXXbYYc", false));
        assert!(!glob("a*b*c", "aXXbYY", false));
        assert!(glob("s3:?etObject", "s3:GetObject", false));
        assert!(!glob("s3:?etObject", "s3:etObject", false));
        assert!(glob("k?y", "kéy", false), "? is one character, not one byte");
        assert!(glob("*Object", "s3:GetObject", false));
        assert!(!glob("*Object", "s3:GetObjects", false));
        assert!(glob("a**b", "ab", false));
    }

    #[test]
    fn case() {
        assert!(glob("S3:getobject", "s3:GetObject", true));
        assert!(!glob("S3:getobject", "s3:GetObject", false));
    }

    #[test]
    fn arn_parts_are_matched_one_by_one() {
        let job = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro-v1:0:128k/abc";
        assert!(arn_matches("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/*", job));
        assert!(arn_matches("arn:aws:bedrock:*:123456789012:model-customization-job/*", job));
        assert!(!arn_matches("arn:aws:bedrock:us-west-2:123456789012:model-customization-job/*", job));
        assert!(!arn_matches("arn:aws:bedrock:us-east-1:123456789012:custom-model/*", job));
        // A `*` inside the region part does not run into the account.
        assert!(!arn_matches("arn:aws:bedrock:us-*:model-customization-job/*", job));
        // A trailing `*` of a short pattern does.
        assert!(arn_matches("arn:aws:bedrock:*", job));
        assert!(arn_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/runs/a:b/c"));
        assert!(!arn_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"));
        assert!(arn_matches("arn:aws:s3:::bucket", "arn:aws:s3:::bucket"));
        assert!(!arn_matches("arn:aws:s3:::Bucket", "arn:aws:s3:::bucket"), "ARNs are case-sensitive");
        assert!(!arn_matches("arn:aws:s3", "arn:aws:s3:::bucket"));
        assert!(arn_matches("*", "anything"));
    }
}
