//! Generates the Rust code for both packages with the vendored protoc, so a fresh
//! machine needs nothing installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // google/protobuf/struct.proto comes with the vendored protoc.
    let include = protoc_bin_vendored::include_path()?.display().to_string();
    // prost-build finds protoc through PROTOC; a build script is single-threaded.
    std::env::set_var("PROTOC", protoc);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("hodei_descriptor.bin"))
        // Ordered, so a message with a map encodes to the same bytes every time.
        .btree_map(".hodei.v1.SetSlaTargetsRequest.by_priority")
        .compile_protos(
            &[
                "proto/hodei/v1/common.proto",
                "proto/hodei/v1/hodei.proto",
                "proto/hodei/v1/tenancy.proto",
                "proto/hodei/v1/pools.proto",
                "proto/hodei/v1/reports.proto",
                "proto/hodei/raft/v1/raft.proto",
            ],
            &["proto", include.as_str()],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
