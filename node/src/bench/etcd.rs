//! `hodei bench etcd-put` and `etcd-range` (hidden): the same driver, clients and
//! report as the Hodei modes, aimed at etcd's v3 KV service, so
//! `scripts/bench-vs-etcd` compares the two systems and not two harnesses.

use std::sync::Arc;

use anyhow::Context;
use tonic::transport::Channel;

use super::args::EtcdArgs;
use super::load::{drive, Op, Run, Shape};
use super::stats::{OpError, Report};
use super::target::{grpc_channel, with_scheme};

mod pb {
    tonic::include_proto!("etcdserverpb");
}

use pb::kv_client::KvClient;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdOp {
    Put,
    /// A linearizable single-key Range (etcd's default, `serializable = false`).
    Range,
}

pub async fn etcd(args: EtcdArgs, kind: EtcdOp) -> anyhow::Result<Report> {
    let channels: Vec<Channel> = args
        .endpoints
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| grpc_channel(&with_scheme(e)))
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(!channels.is_empty(), "--endpoints names no endpoint");
    let value = Arc::new(vec![b'x'; args.payload_bytes as usize]);
    let keys = u64::from(args.keys);
    if kind == EtcdOp::Range {
        // Every key read must exist, or the range answers from an empty index.
        for k in 0..keys {
            put(&channels[0], k, &value).await.map_err(|e| anyhow::anyhow!("{}: {}", e.kind, e.message)).context("writing the keys to read")?;
        }
    }
    let op_channels = Arc::new(channels);
    let op: Op = Arc::new(move |c, seq| {
        let (channels, value) = (op_channels.clone(), value.clone());
        Box::pin(async move {
            let channel = &channels[c % channels.len()];
            match kind {
                EtcdOp::Put => put(channel, seq % keys, &value).await,
                EtcdOp::Range => range(channel, seq % keys).await,
            }
        })
    });
    let run = Run::new();
    let shape = Shape { concurrency: args.load.concurrency, rate: args.load.rate, timeout: args.load.timeout };
    let elapsed = drive(&run, shape, args.load.duration, op).await;
    let mut report = run.recorder().report("etcd", if kind == EtcdOp::Put { "put" } else { "range" }, elapsed);
    report.transport = if kind == EtcdOp::Put { "grpc".into() } else { "grpc/linearizable".into() };
    report.concurrency = args.load.concurrency;
    report.rate = args.load.rate;
    report.payload_bytes = args.payload_bytes;
    Ok(report)
}

fn key(k: u64) -> Vec<u8> {
    format!("hodei-bench/{k:08}").into_bytes()
}

async fn put(channel: &Channel, k: u64, value: &[u8]) -> Result<(), OpError> {
    let req = pb::PutRequest { key: key(k), value: value.to_vec(), ..Default::default() };
    KvClient::new(channel.clone()).put(req).await.map_err(|s| OpError::grpc(&s))?;
    Ok(())
}

async fn range(channel: &Channel, k: u64) -> Result<(), OpError> {
    let req = pb::RangeRequest { key: key(k), ..Default::default() };
    let reply = KvClient::new(channel.clone()).range(req).await.map_err(|s| OpError::grpc(&s))?.into_inner();
    if reply.kvs.is_empty() {
        return Err(OpError::new("not_found", format!("key {k} is missing")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// The field numbers etcd documents: a Put of key "k", value "v" is
    /// tag 1 (key, length-delimited) then tag 2 (value).
    #[test]
    fn requests_use_etcd_s_field_numbers() {
        let put = pb::PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        assert_eq!(put.encode_to_vec(), [0x0a, 1, b'k', 0x12, 1, b'v']);
        let range = pb::RangeRequest { key: b"k".to_vec(), serializable: true, ..Default::default() };
        assert_eq!(range.encode_to_vec(), [0x0a, 1, b'k', 0x38, 1], "serializable is field 7");
        // A reply's kvs (field 2) hold mvccpb.KeyValue with the value in field 5.
        let reply = pb::RangeResponse::decode(&[0x12, 5, 0x0a, 1, b'k', 0x2a, 0][..]).expect("decodes");
        assert_eq!(reply.kvs[0].key, b"k");
    }

    #[test]
    fn keys_are_fixed_width_so_every_put_is_the_same_size() {
        assert_eq!(key(7).len(), key(99_999_999).len());
    }
}
