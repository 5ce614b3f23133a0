//! The request id that follows a client request across the forwarding hop.
//!
//! The front end puts the id on the request's tracing span and runs the
//! request inside [`scope`]; when a follower forwards a write, [`forward`]
//! reads it back and sends it beside the payload (the `request_id` field of
//! its `ForwardFrame`, or `x-request-id` gRPC metadata on a unary call), and
//! the leader's peer service logs and spans the proposal with the same id. The
//! id is not part of the forwarded payload, so the payload's wire format (and
//! its golden test) is unchanged and an older peer simply ignores it.
//!
//! [`forward`]: crate::ClusterNode::write

use std::future::Future;

/// The HTTP header and gRPC metadata key.
pub const HEADER: &str = "x-request-id";
/// The longest id accepted from a client.
pub const MAX_LEN: usize = 128;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The current request's id, if the caller runs inside [`scope`].
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The most bytes of ids one forwarded batch carries (comma separated).
pub const MAX_LIST_LEN: usize = 4096;

/// The ids of a batch's writes as one header value, as many as fit in
/// [`MAX_LIST_LEN`]; `None` when none of them has one.
pub fn join<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut out = String::new();
    for id in ids.filter(|id| is_valid(id)) {
        if out.len() + id.len() + 1 > MAX_LIST_LEN {
            break;
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(id);
    }
    (!out.is_empty()).then_some(out)
}

/// A forwarded header: one id, or a batch's ids joined by commas.
pub fn is_valid_list(ids: &str) -> bool {
    ids.len() <= MAX_LIST_LEN && ids.split(',').all(is_valid)
}

/// A client-supplied id is used as is when it is 1 to [`MAX_LEN`] characters
/// of `A-Z a-z 0-9 - _ . :` (safe in headers and logs); otherwise a new one is
/// generated.
pub fn is_valid(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(is_valid("req-1:abc_DEF.2"));
        assert!(!is_valid(""));
        assert!(!is_valid("a b"));
        assert!(!is_valid("x\ny"));
        assert!(!is_valid(&"a".repeat(MAX_LEN + 1)));
    }

    #[test]
    fn a_batch_joins_its_ids_within_the_bound() {
        assert_eq!(join(["a", "bad id", "b"].into_iter()).as_deref(), Some("a,b"));
        assert_eq!(join(std::iter::empty()), None);
        let many: Vec<String> = (0..100).map(|i| format!("{i:0>100}")).collect();
        let joined = join(many.iter().map(String::as_str)).unwrap();
        assert!(joined.len() <= MAX_LIST_LEN && is_valid_list(&joined));
        assert!(!is_valid_list("a,,b") && !is_valid_list("a, b"));
    }

    #[tokio::test]
    async fn the_id_is_visible_inside_its_scope_only() {
        assert_eq!(current(), None);
        let inside = scope("r-1".into(), async { current() }).await;
        assert_eq!(inside.as_deref(), Some("r-1"));
    }
}
