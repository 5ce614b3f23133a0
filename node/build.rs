//! Generates the etcd KV client that `hodei bench etcd-put` uses to drive etcd
//! with the same harness as Hodei (client only; vendored protoc, nothing to install).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // prost-build finds protoc through PROTOC; a build script is single-threaded.
    std::env::set_var("PROTOC", protoc);
    tonic_prost_build::configure().build_server(false).compile_protos(&["src/bench/etcd_kv.proto"], &["src/bench"])?;
    println!("cargo:rerun-if-changed=src/bench/etcd_kv.proto");
    Ok(())
}
