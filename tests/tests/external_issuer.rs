//! A node configured with an external issuer's public key accepts the tokens
//! that issuer signs (ES256), on REST and gRPC, and still the cluster's own;
//! a token signed by anyone else is 401.

use std::path::PathBuf;

use hodei_api::auth::{Claims, Role, AUDIENCE, ISSUER};
use hodei_tests::{Cluster, ClusterOptions};
use hodei_proto::v1 as pb;
use hodei_proto::v1::tenant_service_client::TenantServiceClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../api/tests/keys")
}

fn signed_by(private: &str) -> String {
    let pem = std::fs::read(keys().join(private)).expect("fixture key");
    let claims = Claims { sub: "sso".into(), hodei_tenant: None, hodei_roles: vec![Role::Admin], exp: 4_000_000_000, iss: ISSUER.into(), aud: AUDIENCE.into() };
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_configured_issuer_are_accepted_and_others_refused() {
    let yaml = format!("api:\n  jwt_public_key_file: {}\n  jwt_public_key_algorithm: ES256\n", keys().join("es256-public.pem").display());
    let c = Cluster::start(ClusterOptions { nodes: 1, config_yaml: yaml, ..ClusterOptions::default() }).await;
    let url = c.url(0, "/api/v1/tenants");
    let get = |token: String| {
        let client = reqwest::Client::new();
        let url = url.clone();
        async move { client.get(&url).bearer_auth(token).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(signed_by("es256-private.pem")).await, 200, "the issuer's token was refused");
    assert_eq!(get(c.admin.clone()).await, 200, "the cluster's own token was refused");
    assert_eq!(get(signed_by("es256-other-private.pem")).await, 401, "a stranger's token was accepted");

    let mut grpc = TenantServiceClient::new(hodei_tests::grpc::channel(&c, 0).await);
    let req = hodei_tests::grpc::authed(pb::ListTenantsRequest::default(), &signed_by("es256-private.pem"));
    assert!(grpc.list_tenants(req).await.is_ok(), "gRPC refused the issuer's token");
}
