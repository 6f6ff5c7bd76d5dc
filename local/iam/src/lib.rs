//! IAM for the local cloud. template.yaml's roles and resource policies are resolved for one stack
//! (account, region, partition, stack name, parameters), each local caller is identified by the access
//! key its requests are signed with, and every request is decided by AWS's evaluation logic and, when
//! denied, answered in the shape the service answers with. See README.md for what is and is not
//! evaluated.

pub mod authorizer;
pub mod caller;
pub mod denial;
pub mod eval;
pub mod operations;
pub mod policy;
pub mod sam;
pub mod stack;
pub mod template;
pub mod wildcard;

pub use authorizer::{Authorizer, Denied, Refusal};
pub use caller::{CallerError, Identities, Identity, access_key_id, role_access_key_id};
pub use denial::{Denial, MissingKey};
pub use eval::{Context, Decision, Matched, PolicyKind, Principal, Request, Verdict, assume_role, decide};
pub use operations::{Authorization, Call, OperationError, authorizations};
pub use policy::{Policy, PolicyError};
pub use stack::{ResourcePolicy, Role, StackPolicies, StackSettings, resolve, resolve_template};
pub use template::{Template, TemplateError};
