//! Newtype identifiers. Ids are assigned inside `apply` from counters in the
//! replicated state, so every node assigns the same id to the same command.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
    };
}

numeric_id!(
    /// A tenant, numbered from 1 in creation order.
    TenantId, "tenant-"
);
numeric_id!(
    /// A job, numbered from 1 in submission order.
    JobId, "job-"
);
numeric_id!(
    /// A registered worker agent, numbered from 1 in registration order.
    WorkerId, "worker-"
);

numeric_id!(
    /// A burst lease request, numbered from 1 in request order.
    BurstId, "burst-"
);

/// A resource pool, named by the operator (`pool-gpu`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct PoolId(pub String);

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
