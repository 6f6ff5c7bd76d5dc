//! The S3 port. The filesystem adapter uses the layout of s3s-fs (`<root>/<bucket>/<key>`), so the
//! local S3 server and the emulator see the same objects.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the emulator needs from S3.
pub trait ObjectStore: Send + Sync {
    fn exists(&self, bucket: &str, key: &str) -> bool;
    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>>;
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Keys under `prefix`, sorted.
    fn list(&self, bucket: &str, prefix: &str) -> Vec<String>;
}

impl<S: ObjectStore + ?Sized> ObjectStore for Arc<S> {
    fn exists(&self, bucket: &str, key: &str) -> bool {
        (**self).exists(bucket, key)
    }
    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        (**self).get(bucket, key)
    }
    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        (**self).put(bucket, key, bytes)
    }
    fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        (**self).list(bucket, prefix)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid bucket or key `{bucket}/{key}`")]
    InvalidKey { bucket: String, key: String },
    #[error("writing s3://{bucket}/{key}: {source}")]
    Io { bucket: String, key: String, source: io::Error },
}

/// Objects as files under a root folder: `<root>/<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// None for names that would escape the root (`..`, absolute keys) or are empty.
    fn path(&self, bucket: &str, key: &str) -> Option<PathBuf> {
        let safe = |s: &str| !s.is_empty() && Path::new(s).components().all(|c| matches!(c, Component::Normal(_)));
        (safe(bucket) && !bucket.contains('/') && safe(key)).then(|| self.root.join(bucket).join(key))
    }
}

impl ObjectStore for FsStore {
    fn exists(&self, bucket: &str, key: &str) -> bool {
        self.path(bucket, key).is_some_and(|p| p.is_file())
    }

    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        fs::read(self.path(bucket, key)?).ok()
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path =
            self.path(bucket, key).ok_or_else(|| StoreError::InvalidKey { bucket: bucket.into(), key: key.into() })?;
        let io_err = |source| StoreError::Io { bucket: bucket.into(), key: key.into(), source };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        // Write then rename, so a reader (the local S3 server) never sees half a file.
        let tmp = path.with_extension("local-bedrock.tmp");
        fs::write(&tmp, bytes).map_err(io_err)?;
        fs::rename(&tmp, &path).map_err(io_err)
    }

    fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let dir = self.root.join(bucket);
        if bucket.is_empty() || bucket.contains(['/', '\\']) || !dir.is_dir() {
            return keys;
        }
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = fs::read_dir(&d) else { continue };
            for entry in entries.flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(&dir) {
                    let key = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                    if key.starts_with(prefix) {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        keys
    }
}

/// (bucket, key) -> bytes.
type Objects = BTreeMap<(String, String), Vec<u8>>;

/// Objects in memory, for tests and for embedding without a folder.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    objects: Arc<Mutex<Objects>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        // A panic elsewhere cannot leave the map half-updated (single inserts), so poisoning is moot.
        self.objects.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ObjectStore for MemoryStore {
    fn exists(&self, bucket: &str, key: &str) -> bool {
        self.lock().contains_key(&(bucket.to_string(), key.to_string()))
    }

    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.lock().get(&(bucket.to_string(), key.to_string())).cloned()
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.lock().insert((bucket.to_string(), key.to_string()), bytes.to_vec());
        Ok(())
    }

    fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.lock().keys().filter(|(b, k)| b == bucket && k.starts_with(prefix)).map(|(_, k)| k.clone()).collect()
    }
}

/// `s3://bucket/key` split into its parts; the key may be empty or end with `/` (a prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl S3Uri {
    pub fn parse(uri: &str) -> Option<S3Uri> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then(|| S3Uri { bucket: bucket.to_string(), key: key.to_string() })
    }

    /// The key of `name` under this URI taken as a folder.
    pub fn child(&self, name: &str) -> String {
        if self.key.is_empty() || self.key.ends_with('/') {
            format!("{}{name}", self.key)
        } else {
            format!("{}/{name}", self.key)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fs_store_uses_the_s3s_fs_layout_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path());
        store.put("b", "runs/r1/train.jsonl", b"{}\n").unwrap();
        assert!(dir.path().join("b/runs/r1/train.jsonl").is_file());
        assert!(store.exists("b", "runs/r1/train.jsonl"));
        assert_eq!(store.get("b", "runs/r1/train.jsonl").unwrap(), b"{}\n");
        assert_eq!(store.list("b", "runs/"), ["runs/r1/train.jsonl"]);
        assert!(store.list("b", "other/").is_empty());
        assert!(!store.exists("b", "runs"));
        assert!(store.put("b", "../escape", b"x").is_err());
        assert!(store.put("..", "x", b"x").is_err());
        assert!(store.get("b", "/etc/passwd").is_none());
    }

    #[test]
    fn s3_uris_split_into_bucket_and_key() {
        let u = S3Uri::parse("s3://bucket/runs/r1/output/").unwrap();
        assert_eq!((u.bucket.as_str(), u.key.as_str()), ("bucket", "runs/r1/output/"));
        assert_eq!(u.child("a.csv"), "runs/r1/output/a.csv");
        assert_eq!(S3Uri::parse("s3://bucket/out").unwrap().child("a"), "out/a");
        assert_eq!(S3Uri::parse("s3://bucket").unwrap().child("a"), "a");
        assert!(S3Uri::parse("https://x").is_none());
        assert!(S3Uri::parse("s3:///k").is_none());
    }
}
