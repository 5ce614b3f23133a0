//! `hodei worker`: the agent that runs jobs as real processes.
//!
//! - [`runner`]: one job as an OS process, with limits, timeout, cancel and usage.

pub mod runner;
