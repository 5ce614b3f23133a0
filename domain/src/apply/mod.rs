//! One file per command family; `State::apply` dispatches here.

pub(crate) mod job;
pub(crate) mod tenant;
pub(crate) mod worker;
