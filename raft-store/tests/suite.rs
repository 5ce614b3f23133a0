//! openraft's own storage conformance suite, on real files in a temp dir.

use hodei_raft_store::{LogStore, StateMachineStore, StorageError, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};

struct TempStores;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for TempStores {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = LogStore::open(dir.path()).await?;
        let sm = StateMachineStore::open(dir.path()).await?;
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite_passes_on_real_files() {
    Suite::test_all(TempStores).expect("openraft storage suite");
}
