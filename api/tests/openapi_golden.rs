//! The OpenAPI document is part of the wire format: `docs/openapi.json` holds
//! the one this build serves, so a change to the API shows in review. After
//! an intended change, regenerate it with
//! `HODEI_UPDATE_GOLDEN=1 cargo test --release --workspace --test openapi_golden`.

use std::path::PathBuf;

#[test]
fn the_served_document_is_docs_openapi_json() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let served = serde_json::to_string_pretty(&hodei_api::rest::openapi()).expect("the document serializes") + "\n";
    if std::env::var_os("HODEI_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &served).expect("writing docs/openapi.json");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        golden == served,
        "docs/openapi.json is not the document this build serves; after an intended API change run \
         HODEI_UPDATE_GOLDEN=1 cargo test --release --workspace --test openapi_golden"
    );
}
