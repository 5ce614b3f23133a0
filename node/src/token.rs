//! `hodei token`: prints a signed JWT for the cluster's shared secret.

use anyhow::Context;

use hodei_api::auth::{issue_token, Claims, Role};

use crate::cli::TokenArgs;

pub fn token(args: &TokenArgs) -> anyhow::Result<String> {
    let secret = std::fs::read(&args.secret_file)
        .with_context(|| format!("reading the JWT secret {}", args.secret_file.display()))?;
    let secret = secret.trim_ascii();
    anyhow::ensure!(!secret.is_empty(), "the JWT secret file {} is empty", args.secret_file.display());
    let role = match args.role.as_str() {
        "admin" => Role::Admin,
        "tenant" => Role::Tenant,
        "viewer" => Role::Viewer,
        "worker" => Role::Worker,
        other => anyhow::bail!("unknown role {other:?}: use admin, tenant, viewer or worker"),
    };
    anyhow::ensure!(role != Role::Tenant || args.tenant.is_some(), "a tenant token needs --tenant <id>");
    let tenant = args
        .tenant
        .as_deref()
        .map(|t| t.parse::<u64>().with_context(|| format!("--tenant {t:?} is not a tenant id")))
        .transpose()?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let claims = Claims {
        sub: tenant.map(|t| format!("tenant-{t}")).unwrap_or_else(|| args.role.clone()),
        hodei_tenant: tenant.map(hodei_domain::TenantId),
        hodei_roles: vec![role],
        exp: now + args.ttl.as_secs(),
        iss: args.issuer.clone(),
        aud: args.audience.clone(),
    };
    Ok(issue_token(secret, &claims)?)
}
