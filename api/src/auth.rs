//! JWT authentication: HS256 with a shared secret, algorithm pinned, `exp`, `iss`
//! and `aud` checked. Claims name the subject, the tenant (for tenant tokens) and
//! the roles.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use hodei_domain::TenantId;

use crate::error::ApiError;

pub const ISSUER: &str = "hodei";
pub const AUDIENCE: &str = "hodei";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: tenants, quotas, pools, cluster membership.
    Admin,
    /// Its own tenant's jobs, quota (read), bursts, costs.
    Tenant,
    /// Read-only, all tenants.
    Viewer,
    /// A worker agent: registers, heartbeats, reports its jobs.
    Worker,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hodei_tenant: Option<TenantId>,
    pub hodei_roles: Vec<Role>,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
}

/// Who is calling, once the token checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub tenant: Option<TenantId>,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// Admins and viewers see every tenant.
    pub fn sees_all(&self) -> bool {
        self.is_admin() || self.roles.contains(&Role::Viewer)
    }

    /// May this caller see the given tenant's objects? Answering "no" is reported
    /// as 404 by callers, so that tenants cannot learn of each other's objects.
    pub fn may_see(&self, tenant: TenantId) -> bool {
        self.sees_all() || self.tenant == Some(tenant)
    }

    /// May this caller change the given tenant's jobs?
    pub fn may_act_for(&self, tenant: TenantId) -> bool {
        self.is_admin() || (self.roles.contains(&Role::Tenant) && self.tenant == Some(tenant))
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this operation needs the admin role"))
        }
    }
}

/// Verifies tokens: HS256 against the cluster's shared secret (what `hodei
/// token`, workers and provisioners use), and optionally RS256 or ES256
/// against an external issuer's public key. Each key accepts its one
/// algorithm only; a token's header picks the key, never the algorithm.
#[derive(Clone)]
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    public: Option<(DecodingKey, Validation)>,
    verified: Verified,
}

/// Tokens that checked out, by their exact text, with the principal they
/// name, until they expire. A client sends the same token with every call;
/// checking its signature and parsing its claims each time cost the nodes
/// about 12 % of their CPU per linearizable read (`docs/performance.md`,
/// session 12). Nothing else about a token changes with time (keys are
/// fixed for the life of the process), so an entry holds until its `exp`
/// plus the leeway, as the check itself would.
/// Only tokens that passed are kept; when full, the table starts over.
#[derive(Clone, Default)]
struct Verified {
    tokens: Arc<Mutex<HashMap<String, (Principal, u64)>>>,
}

/// Distinct tokens remembered at once.
const VERIFIED_CAPACITY: usize = 1024;
/// Seconds a token is still accepted after its `exp` (jsonwebtoken's leeway).
const LEEWAY_S: u64 = 5;

impl Verified {
    fn get(&self, token: &str, now: u64) -> Option<Principal> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(token).filter(|(_, until)| now <= *until).map(|(p, _)| p.clone())
    }

    fn put(&self, token: &str, principal: &Principal, exp: u64) {
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= VERIFIED_CAPACITY {
            tokens.clear();
        }
        tokens.insert(token.to_string(), (principal.clone(), exp.saturating_add(LEEWAY_S)));
    }
}

fn validation(alg: Algorithm) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_S;
    validation
}

impl Authenticator {
    pub fn hs256(secret: &[u8]) -> Self {
        Authenticator {
            key: DecodingKey::from_secret(secret),
            validation: validation(Algorithm::HS256),
            public: None,
            verified: Verified::default(),
        }
    }

    /// Also accepts tokens signed with `algorithm` (`RS256` or `ES256`) by the
    /// holder of the private key of `pem` (a PEM public key).
    pub fn with_public_key(mut self, algorithm: &str, pem: &[u8]) -> Result<Self, String> {
        let (alg, key) = match algorithm {
            "RS256" => (Algorithm::RS256, DecodingKey::from_rsa_pem(pem)),
            "ES256" => (Algorithm::ES256, DecodingKey::from_ec_pem(pem)),
            other => return Err(format!("{other:?} is not RS256 or ES256")),
        };
        let key = key.map_err(|e| format!("not a PEM {algorithm} public key: {e}"))?;
        self.public = Some((key, validation(alg)));
        Ok(self)
    }

    /// Checks an `Authorization` header value (`Bearer <jwt>`).
    pub fn verify_header(&self, header: Option<&str>) -> Result<Principal, ApiError> {
        let header = header.ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthenticated("authorization must be `Bearer <token>`"))?;
        let token = token.trim();
        if let Some(principal) = self.verified.get(token, jsonwebtoken::get_current_timestamp()) {
            return Ok(principal);
        }
        let alg = jsonwebtoken::decode_header(token).map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?.alg;
        let (key, validation) = match &self.public {
            Some((key, v)) if v.algorithms.contains(&alg) => (key, v),
            _ => (&self.key, &self.validation),
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, validation)
            .map_err(|e| ApiError::unauthenticated(format!("invalid token: {e}")))?;
        let c = data.claims;
        if c.hodei_roles.is_empty() {
            return Err(ApiError::unauthenticated("token carries no role"));
        }
        if c.hodei_roles.contains(&Role::Tenant) && c.hodei_tenant.is_none() {
            return Err(ApiError::unauthenticated("tenant token carries no tenant"));
        }
        let principal = Principal { subject: c.sub, tenant: c.hodei_tenant, roles: c.hodei_roles };
        self.verified.put(token, &principal, c.exp);
        Ok(principal)
    }
}

/// Signs a token (the `hodei token` command and tests use this).
pub fn issue_token(secret: &[u8], claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "alice".into(),
            hodei_tenant: Some(TenantId(7)),
            hodei_roles: vec![Role::Tenant],
            exp,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
        }
    }

    fn far_future() -> u64 {
        4_000_000_000
    }

    #[test]
    fn a_signed_token_verifies_to_its_principal() {
        let t = issue_token(b"secret", &claims(far_future())).unwrap();
        let p = Authenticator::hs256(b"secret").verify_header(Some(&format!("Bearer {t}"))).unwrap();
        assert_eq!(p.tenant, Some(TenantId(7)));
        assert!(p.may_see(TenantId(7)) && !p.may_see(TenantId(8)));
    }

    #[test]
    fn wrong_secret_expired_and_missing_tokens_are_refused() {
        let auth = Authenticator::hs256(b"secret");
        let other = issue_token(b"other", &claims(far_future())).unwrap();
        assert!(auth.verify_header(Some(&format!("Bearer {other}"))).is_err());
        let expired = issue_token(b"secret", &claims(1_000)).unwrap();
        assert!(auth.verify_header(Some(&format!("Bearer {expired}"))).is_err());
        assert!(auth.verify_header(None).is_err());
        assert!(auth.verify_header(Some("Basic abc")).is_err());
    }

    #[test]
    fn a_verified_token_is_remembered_until_its_expiry_and_leeway() {
        let auth = Authenticator::hs256(b"secret");
        let exp = jsonwebtoken::get_current_timestamp() + 3600;
        let t = issue_token(b"secret", &claims(exp)).unwrap();
        let first = auth.verify_header(Some(&format!("Bearer {t}"))).unwrap();
        assert_eq!(auth.verified.get(&t, exp + LEEWAY_S), Some(first.clone()), "kept through exp + leeway");
        assert_eq!(auth.verified.get(&t, exp + LEEWAY_S + 1), None, "gone after exp + leeway");
        assert_eq!(auth.verify_header(Some(&format!("Bearer {t}"))).unwrap(), first);
        // One character changed is another token: checked, and refused.
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(auth.verify_header(Some(&format!("Bearer {forged}"))).is_err());
    }

    #[test]
    fn refused_tokens_are_not_remembered() {
        let auth = Authenticator::hs256(b"secret");
        let other = issue_token(b"other", &claims(far_future())).unwrap();
        for _ in 0..2 {
            assert!(auth.verify_header(Some(&format!("Bearer {other}"))).is_err());
        }
        assert_eq!(auth.verified.get(&other, 0), None);
    }

    #[test]
    fn a_full_table_starts_over() {
        let v = Verified::default();
        let p = Principal { subject: "s".into(), tenant: None, roles: vec![Role::Admin] };
        for i in 0..VERIFIED_CAPACITY {
            v.put(&format!("t{i}"), &p, far_future());
        }
        assert!(v.get("t0", 0).is_some());
        v.put("one-more", &p, far_future());
        assert_eq!(v.tokens.lock().unwrap().len(), 1);
        assert!(v.get("one-more", 0).is_some() && v.get("t0", 0).is_none());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let mut c = claims(far_future());
        c.aud = "someone-else".into();
        let t = issue_token(b"secret", &c).unwrap();
        assert!(Authenticator::hs256(b"secret").verify_header(Some(&format!("Bearer {t}"))).is_err());
    }
}
