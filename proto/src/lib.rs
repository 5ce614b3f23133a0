//! # hodei-proto
//!
//! Generated code for Hodei's two protobuf packages:
//! - [`v1`] (`hodei.v1`): the public API, served on every node's `--grpc` port;
//! - [`raft::v1`] (`hodei.raft.v1`): the peer service on the `--peer` port.
//!
//! [`FILE_DESCRIPTOR_SET`] feeds gRPC server reflection.

pub mod v1 {
    tonic::include_proto!("hodei.v1");
}

pub mod raft {
    pub mod v1 {
        tonic::include_proto!("hodei.raft.v1");
    }
}

/// The encoded descriptors of both packages, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("hodei_descriptor");
