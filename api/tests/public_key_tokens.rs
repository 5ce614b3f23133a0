//! Tokens from an external issuer: RS256 or ES256 verified with its public key
//! (fixtures in `api/tests/keys/`, test-only keys made with openssl), next to
//! the cluster's own HS256 tokens; each key takes its one algorithm only.

use std::path::PathBuf;

use hodei_api::auth::{Claims, Role, AUDIENCE, ISSUER};
use hodei_api::Authenticator;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

fn key(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys").join(name)).expect("fixture key")
}

fn claims() -> Claims {
    Claims { sub: "ci-bot".into(), hodei_tenant: None, hodei_roles: vec![Role::Admin], exp: 4_000_000_000, iss: ISSUER.into(), aud: AUDIENCE.into() }
}

fn bearer(alg: Algorithm, key: &EncodingKey) -> String {
    format!("Bearer {}", jsonwebtoken::encode(&Header::new(alg), &claims(), key).expect("signs"))
}

#[test]
fn es256_and_rs256_tokens_verify_with_their_public_keys_and_hs256_still_works() {
    let es = Authenticator::hs256(b"shared").with_public_key("ES256", &key("es256-public.pem")).expect("an EC key");
    let es_token = bearer(Algorithm::ES256, &EncodingKey::from_ec_pem(&key("es256-private.pem")).unwrap());
    assert_eq!(es.verify_header(Some(&es_token)).expect("ES256 token").subject, "ci-bot");
    let hs_token = format!("Bearer {}", hodei_api::auth::issue_token(b"shared", &claims()).unwrap());
    assert!(es.verify_header(Some(&hs_token)).is_ok(), "the shared secret keeps working");

    let rs = Authenticator::hs256(b"shared").with_public_key("RS256", &key("rs256-public.pem")).expect("an RSA key");
    let rs_token = bearer(Algorithm::RS256, &EncodingKey::from_rsa_pem(&key("rs256-private.pem")).unwrap());
    assert!(rs.verify_header(Some(&rs_token)).is_ok());
    // Pinned: each configured key takes its one algorithm.
    assert!(rs.verify_header(Some(&es_token)).is_err(), "an ES256 token passed an RS256-only verifier");
    assert!(es.verify_header(Some(&rs_token)).is_err(), "an RS256 token passed an ES256-only verifier");
}

#[test]
fn forged_tokens_are_refused() {
    let es = Authenticator::hs256(b"shared").with_public_key("ES256", &key("es256-public.pem")).unwrap();
    // The classic confusion: HS256 "signed" with the public key as the secret.
    let confused = bearer(Algorithm::HS256, &EncodingKey::from_secret(&key("es256-public.pem")));
    assert!(es.verify_header(Some(&confused)).is_err(), "an HS256 token keyed with the public key was accepted");
    // Signed by another EC key.
    let other = bearer(Algorithm::ES256, &EncodingKey::from_ec_pem(&key("es256-other-private.pem")).unwrap());
    assert!(es.verify_header(Some(&other)).is_err());
    // Unsigned.
    let none = format!("Bearer eyJhbGciOiJub25lIn0.{}.", "eyJzdWIiOiJ4In0");
    assert!(es.verify_header(Some(&none)).is_err());
}

#[test]
fn a_bad_key_or_algorithm_is_refused_when_configured() {
    assert!(Authenticator::hs256(b"s").with_public_key("ES256", b"not a pem").is_err());
    assert!(Authenticator::hs256(b"s").with_public_key("HS256", &key("es256-public.pem")).is_err());
    assert!(Authenticator::hs256(b"s").with_public_key("none", &key("es256-public.pem")).is_err());
}
