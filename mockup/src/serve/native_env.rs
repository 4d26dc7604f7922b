//! The API library run natively over the host's store, for commands that
//! change the store outside a request (`mockup keys create`).

use super::kv::Backend;
use std::sync::Arc;

/// The host's store seen through the API's [`edge_api::Store`] trait.
pub struct BackendStore(pub Arc<dyn Backend>);

fn err(e: anyhow::Error) -> edge_api::StoreError {
    edge_api::StoreError(format!("{e:#}"))
}

impl edge_api::Store for BackendStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, edge_api::StoreError> {
        self.0.get(key).map_err(err)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), edge_api::StoreError> {
        self.0.set(key, value).map_err(err)
    }
    fn delete(&self, key: &str) -> Result<(), edge_api::StoreError> {
        self.0.delete(key).map_err(err)
    }
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
    ) -> Result<bool, edge_api::StoreError> {
        self.0.compare_and_swap(key, expected, new).map_err(err)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, edge_api::StoreError> {
        self.0.increment(key, delta).map_err(err)
    }
}

/// An [`edge_api::Env`] without network access.
pub struct NativeEnv {
    pub store: BackendStore,
}

impl edge_api::Env for NativeEnv {
    fn store(&self) -> &dyn edge_api::Store {
        &self.store
    }
    fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!("no network access here ({url})"))
    }
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
    fn random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the OS random source");
    }
    fn base_url(&self) -> String {
        String::new()
    }
}
