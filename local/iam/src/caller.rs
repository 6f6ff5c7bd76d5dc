//! Who is calling a local server. Each role of the stack gets an access key id derived from its logical
//! id (`ASIA` + 16 characters, the shape of AWS's temporary keys), which the in-process Lambda's SDK
//! clients sign with; the person at the keyboard signs with the administrator's key. A request names its
//! key in SigV4's `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
//! ...` header or, presigned, in the `X-Amz-Credential` query parameter.

use crate::eval::Principal;
use crate::policy::Policy;
use crate::stack::StackPolicies;
use serde_json::json;
use std::collections::HashMap;

/// The access key id a SigV4 (or SigV4a, or S3's old SigV2) request was signed with: from the
/// `Authorization` header, else from the query string's `X-Amz-Credential` (presigned URLs).
pub fn access_key_id(authorization: Option<&str>, query: Option<&str>) -> Option<String> {
    if let Some(header) = authorization {
        let header = header.trim();
        if let Some(v2) = header.strip_prefix("AWS ") {
            return v2.split(':').next().filter(|k| !k.is_empty()).map(str::to_string);
        }
        let credential = header.split([' ', ',']).find_map(|part| part.trim().strip_prefix("Credential="))?;
        return credential.split('/').next().filter(|k| !k.is_empty()).map(str::to_string);
    }
    let query = query?;
    let value = query.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.eq_ignore_ascii_case("X-Amz-Credential").then_some(value)
    })?;
    let decoded = shared::aws::decode_form_component(value);
    decoded.split('/').next().filter(|k| !k.is_empty()).map(str::to_string)
}

/// The access key id a role's sessions sign with locally: stable across runs, unique per role.
pub fn role_access_key_id(role_logical_id: &str) -> String {
    format!("ASIA{}", base32(xxhash_rust::xxh3::xxh3_64(role_logical_id.as_bytes())))
}

/// The matching secret, for servers that check signatures (a local stand-in, not a secret).
pub fn role_secret_access_key(role_logical_id: &str) -> String {
    format!("local-{role_logical_id}")
}

/// 16 characters of RFC 4648 base32 (upper case and digits 2-7, as AWS key ids use).
fn base32(mut n: u64) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = [0u8; 16];
    for c in out.iter_mut().rev() {
        *c = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8(out.to_vec()).expect("ASCII")
}

/// A caller: its principal and the identity policies that decide what it may do.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The role's logical id, or `administrator`.
    pub name: String,
    pub principal: Principal,
    pub policies: Vec<Policy>,
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    #[error("the request is not signed (no SigV4 Authorization header or X-Amz-Credential)")]
    Unsigned,
    #[error("the access key id {0} belongs to no role of the local stack and is not the administrator's")]
    UnknownKey(String),
}

/// Every local caller, by access key.
#[derive(Debug, Clone)]
pub struct Identities {
    identities: Vec<Identity>,
    by_key: HashMap<String, usize>,
}

impl Identities {
    /// One identity per role of the stack, plus the administrator (the local user: allowed everything
    /// identity policies can allow, still subject to resource policies' denials) signing with
    /// `admin_access_key_id`.
    pub fn new(stack: &StackPolicies, admin_access_key_id: &str, admin_secret_access_key: &str) -> Identities {
        let s = &stack.settings;
        let mut identities: Vec<Identity> = stack
            .roles
            .iter()
            .map(|role| Identity {
                name: role.logical_id.clone(),
                principal: Principal::AssumedRole {
                    partition: s.partition.clone(),
                    account: s.account.clone(),
                    role_name: role.name.clone(),
                    session: role.session_name.clone(),
                },
                policies: role.policies.clone(),
                access_key_id: role_access_key_id(&role.logical_id),
                secret_access_key: role_secret_access_key(&role.logical_id),
            })
            .collect();
        let administrator =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        identities.push(Identity {
            name: "administrator".into(),
            principal: Principal::User {
                arn: format!("arn:{}:iam::{}:user/local-administrator", s.partition, s.account),
            },
            policies: vec![Policy::parse("AdministratorAccess", administrator).expect("a valid policy")],
            access_key_id: admin_access_key_id.into(),
            secret_access_key: admin_secret_access_key.into(),
        });
        let by_key = identities.iter().enumerate().map(|(i, id)| (id.access_key_id.clone(), i)).collect();
        Identities { identities, by_key }
    }

    pub fn by_access_key(&self, access_key_id: &str) -> Option<&Identity> {
        self.by_key.get(access_key_id).map(|&i| &self.identities[i])
    }

    /// The identity a role's user runs as: `of("StartJobFunction")`, `of("PipelineStateMachine")`,
    /// `of("administrator")`.
    pub fn of(&self, used_by: &str, stack: &StackPolicies) -> Option<&Identity> {
        let name = stack.role_of(used_by).map_or(used_by, |r| r.logical_id.as_str());
        self.identities.iter().find(|i| i.name == name)
    }

    /// Who signed this request.
    pub fn from_request(&self, authorization: Option<&str>, query: Option<&str>) -> Result<&Identity, CallerError> {
        let key = access_key_id(authorization, query).ok_or(CallerError::Unsigned)?;
        self.by_access_key(&key).ok_or(CallerError::UnknownKey(key))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Identity> {
        self.identities.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigv4_header() {
        let header = "AWS4-HMAC-SHA256 Credential=ASIAABCDEFGHIJKLMNOP/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(access_key_id(Some(header), None).as_deref(), Some("ASIAABCDEFGHIJKLMNOP"));
        let compact =
            "AWS4-HMAC-SHA256 Credential=AKIALOCAL/20260101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=abc";
        assert_eq!(
            access_key_id(Some(compact), Some("X-Amz-Credential=OTHER%2F1")).as_deref(),
            Some("AKIALOCAL"),
            "the header wins"
        );
        let sigv4a =
            "AWS4-ECDSA-P256-SHA256 Credential=AKIAV4A/20260101/s3/aws4_request, SignedHeaders=host, Signature=1";
        assert_eq!(access_key_id(Some(sigv4a), None).as_deref(), Some("AKIAV4A"));
        assert_eq!(access_key_id(Some("AWS AKIAOLD:c2lnbmF0dXJl"), None).as_deref(), Some("AKIAOLD"));
        assert_eq!(access_key_id(Some("Bearer token"), None), None);
        assert_eq!(access_key_id(Some("AWS4-HMAC-SHA256 Credential=/20260101/x"), None), None);
    }

    #[test]
    fn presigned_query() {
        let query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAQUERYKEY%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Signature=ff";
        assert_eq!(access_key_id(None, Some(query)).as_deref(), Some("ASIAQUERYKEY"));
        assert_eq!(access_key_id(None, Some("x-amz-credential=lower%2fcase")).as_deref(), Some("lower"));
        assert_eq!(access_key_id(None, Some("list-type=2&prefix=runs%2F")), None);
        assert_eq!(access_key_id(None, None), None);
        assert_eq!(shared::aws::decode_form_component("a%2Fb%zz%4"), "a/b%zz%4");
    }

    #[test]
    fn role_keys_are_stable_unique_and_shaped_like_aws_keys() {
        let a = role_access_key_id("StartJobFunctionRole");
        assert_eq!(a, role_access_key_id("StartJobFunctionRole"));
        assert_ne!(a, role_access_key_id("TeardownFunctionRole"));
        assert_eq!(a.len(), 20);
        assert!(
            a.starts_with("ASIA") && a.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
            "{a}"
        );
    }
}
