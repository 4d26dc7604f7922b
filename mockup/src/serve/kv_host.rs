//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) for the component,
//! over the host's [`Backend`]: the key-value interface Spin's platform
//! world imports, so the same component runs under `spin up`.
//!
//! The component sees one bucket, "default" (spin.toml grants it); any
//! other name is `no-such-store`.

use super::kv::Backend;
use super::State;
use std::sync::Arc;
use wasmtime::component::Resource;

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit/keyvalue",
        world: "wasi:keyvalue/imports",
        with: {
            "wasi:keyvalue/store.bucket": super::Bucket,
            "wasi:keyvalue/atomics.cas": super::Cas,
        },
        require_store_data_send: true,
    });
}

pub use generated::wasi::keyvalue::{atomics, batch, store};

/// An open bucket: the shared backend.
pub struct Bucket {
    kv: Arc<dyn Backend>,
}

/// A compare-and-swap handle: the key and the value it was read at.
pub struct Cas {
    kv: Arc<dyn Backend>,
    key: String,
    seen: Option<Vec<u8>>,
}

/// Adds the key-value interfaces to the component linker.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<State>) -> wasmtime::Result<()> {
    generated::Imports::add_to_linker::<State, wasmtime::component::HasSelf<State>>(linker, |s| s)
}

fn other(e: anyhow::Error) -> store::Error {
    store::Error::Other(format!("{e:#}"))
}

impl store::Host for State {
    fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        if identifier != "default" {
            return Err(store::Error::NoSuchStore);
        }
        let bucket = Bucket {
            kv: self.kv.clone(),
        };
        self.table
            .push(bucket)
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl State {
    fn bucket(&self, b: &Resource<Bucket>) -> Result<Arc<dyn Backend>, store::Error> {
        self.table
            .get(b)
            .map(|b| b.kv.clone())
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl store::HostBucket for State {
    fn get(&mut self, b: Resource<Bucket>, key: String) -> Result<Option<Vec<u8>>, store::Error> {
        self.bucket(&b)?.get(&key).map_err(other)
    }

    fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        self.bucket(&b)?.set(&key, &value).map_err(other)
    }

    fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        self.bucket(&b)?.delete(&key).map_err(other)
    }

    fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        Ok(self.bucket(&b)?.get(&key).map_err(other)?.is_some())
    }

    fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<store::KeyResponse, store::Error> {
        let (keys, cursor) = self
            .bucket(&b)?
            .list_keys(cursor.as_deref(), 1000)
            .map_err(other)?;
        Ok(store::KeyResponse { keys, cursor })
    }

    fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for State {
    fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        self.bucket(&b)?.increment(&key, delta).map_err(other)
    }

    fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let c = self
            .table
            .delete(cas)
            .map_err(|e| atomics::CasError::StoreError(store::Error::Other(e.to_string())))?;
        match c.kv.compare_and_swap(&c.key, c.seen.as_deref(), &value) {
            Ok(true) => Ok(()),
            Ok(false) => {
                // The contract: a failed swap returns a fresh handle at the
                // current value, ready for a retry.
                let seen =
                    c.kv.get(&c.key)
                        .map_err(|e| atomics::CasError::StoreError(other(e)))?;
                let fresh = Cas {
                    kv: c.kv,
                    key: c.key,
                    seen,
                };
                let r = self.table.push(fresh).map_err(|e| {
                    atomics::CasError::StoreError(store::Error::Other(e.to_string()))
                })?;
                Err(atomics::CasError::CasFailed(r))
            }
            Err(e) => Err(atomics::CasError::StoreError(other(e))),
        }
    }
}

impl atomics::HostCas for State {
    fn new(&mut self, b: Resource<Bucket>, key: String) -> Result<Resource<Cas>, store::Error> {
        let kv = self.bucket(&b)?;
        let seen = kv.get(&key).map_err(other)?;
        self.table
            .push(Cas { kv, key, seen })
            .map_err(|e| store::Error::Other(e.to_string()))
    }

    fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>, store::Error> {
        let c = self
            .table
            .get(&cas)
            .map_err(|e| store::Error::Other(e.to_string()))?;
        Ok(c.seen.clone())
    }

    fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for State {
    fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        let kv = self.bucket(&b)?;
        keys.into_iter()
            .map(|k| {
                let v = kv.get(&k).map_err(other)?;
                Ok((k, v))
            })
            .collect()
    }

    fn set_many(
        &mut self,
        b: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        let kv = self.bucket(&b)?;
        for (k, v) in key_values {
            kv.set(&k, &v).map_err(other)?;
        }
        Ok(())
    }

    fn delete_many(&mut self, b: Resource<Bucket>, keys: Vec<String>) -> Result<(), store::Error> {
        let kv = self.bucket(&b)?;
        for k in keys {
            kv.delete(&k).map_err(other)?;
        }
        Ok(())
    }
}
