//! Addresses: listen addresses (`host:port`, resolved once at start), dial
//! addresses (kept as text, resolved by whoever dials) and `--initial-cluster`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, ToSocketAddrs};

/// Checks `host:port` (IPv6 as `[::1]:port`) without resolving it. Port 0 is only
/// accepted when `allow_port_zero` (an ephemeral listen port).
pub fn check_host_port(s: &str, allow_port_zero: bool) -> Result<(), String> {
    let (host, port) = s.rsplit_once(':').ok_or("must be host:port")?;
    let port: u16 = port.parse().map_err(|_| format!("port {port:?} is not a number from 1 to 65535"))?;
    if port == 0 && !allow_port_zero {
        return Err("port 0 cannot be dialled".into());
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ok = match bare {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("host {host:?} is not a hostname or IP address (write host:port, no scheme)"))
    }
}

/// A listen address: an IP literal, or a name that resolves now (`localhost:8080`).
pub fn parse_listen_addr(s: &str) -> Result<SocketAddr, String> {
    check_host_port(s, true)?;
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let mut addrs = s.to_socket_addrs().map_err(|e| format!("cannot resolve: {e}"))?;
    addrs.next().ok_or_else(|| "resolves to no address".to_string())
}

/// Parses `1=host:port,2=host:port,...` into id -> peer address. Ids are positive
/// and unique, and no two members share an address.
pub fn parse_initial_cluster(s: &str) -> Result<BTreeMap<u64, String>, String> {
    let mut out = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part.split_once('=').ok_or_else(|| format!("entry {part:?} must be id=host:port"))?;
        let (id, addr) = (id.trim(), addr.trim());
        let id: u64 = id.parse().map_err(|_| format!("id {id:?} in {part:?} is not a positive integer"))?;
        if id == 0 {
            return Err("node ids start at 1".into());
        }
        check_host_port(addr, false).map_err(|e| format!("address of node {id}: {e}"))?;
        if !seen.insert(addr.to_string()) {
            return Err(format!("address {addr} is given to two nodes"));
        }
        if out.insert(id, addr.to_string()).is_some() {
            return Err(format!("node id {id} appears twice"));
        }
    }
    if out.is_empty() {
        return Err("is empty; write 1=host:port,2=host:port,...".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_cluster_parses_and_rejects_mistakes() {
        let m = parse_initial_cluster("1=10.0.0.1:10091, 2=node-2.local:10092,3=[::1]:10093").unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[&2], "node-2.local:10092");
        assert_eq!(m[&3], "[::1]:10093");
        let cases = [
            ("1=a:1,1=b:2", "appears twice"),
            ("1=a:1,2=a:1", "two nodes"),
            ("x=a:1", "not a positive integer"),
            ("0=a:1", "start at 1"),
            ("1=a", "host:port"),
            ("1=a:0", "port 0"),
            ("1=http://a:1", "no scheme"),
            ("1:a:1", "id=host:port"),
            (" , ", "is empty"),
        ];
        for (text, want) in cases {
            let e = parse_initial_cluster(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e:?} should mention {want:?}");
        }
    }

    #[test]
    fn listen_addresses_resolve_or_explain() {
        assert_eq!(parse_listen_addr("127.0.0.1:8081").unwrap().port(), 8081);
        assert_eq!(parse_listen_addr("[::1]:0").unwrap().port(), 0);
        assert!(parse_listen_addr("localhost:9091").is_ok());
        for bad in ["nonsense", "127.0.0.1", ":80", "127.0.0.1:99999", "a b:1", "[zz]:1"] {
            assert!(parse_listen_addr(bad).is_err(), "{bad}");
        }
    }
}
