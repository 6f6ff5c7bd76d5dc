//! IAM on the local S3: every request is decided by the signer's policies (and the bucket policy)
//! before s3s-fs sees it, and refused as S3 refuses: 403 AccessDenied naming principal, action and
//! resource (HEAD: status only). A GetObject or HeadObject of a missing key is NoSuchKey only for a
//! caller that may `s3:ListBucket` the bucket; anyone else gets AccessDenied for ListBucket, as on AWS.

use std::path::PathBuf;
use std::sync::Arc;

use local_iam::{Authorizer, Call, Denied, Identity};
use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Result};

/// The decision point the local S3 consults (s3s's access hook).
pub struct S3Gate {
    pub(crate) authorizer: Arc<Authorizer>,
    /// s3s-fs's root: `<root>/<bucket>/<key>` is the object.
    pub(crate) root: PathBuf,
}

fn denied(denied: Denied) -> S3Error {
    let message = match denied {
        Denied::Refused(r) => {
            // S3 quotes the resource in its messages.
            local_iam::denial::message(&r.principal, &r.action, &format!("\"{}\"", r.resource), &r.decision)
        }
        Denied::Unmodelled(e) => format!("{e}: the local cloud refuses what it cannot authorize"),
    };
    S3Error::with_message(S3ErrorCode::AccessDenied, message)
}

impl S3Gate {
    fn caller<T>(&self, req: &S3Request<T>) -> S3Result<&Identity> {
        let key = req.credentials.as_ref().map(|c| c.access_key.as_str());
        key.and_then(|k| self.authorizer.identities().by_access_key(k)).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::AccessDenied, "Anonymous users cannot access this bucket")
        })
    }

    fn decide<T>(&self, req: &S3Request<T>, operation: &str, parameters: &[(&str, &str)]) -> S3Result<()> {
        let caller = self.caller(req)?;
        self.authorizer.authorize(caller, &Call::new("s3", operation, parameters)).map_err(denied)
    }

    /// GetObject/HeadObject: the read, then, for a key that is not there, whether the caller may learn so.
    fn read<T>(&self, req: &S3Request<T>, operation: &str, bucket: &str, key: &str) -> S3Result<()> {
        self.decide(req, operation, &[("bucket", bucket), ("key", key)])?;
        if !self.root.join(bucket).join(key).is_file() {
            let caller = self.caller(req)?;
            self.authorizer.may_list_bucket(caller, bucket).map_err(denied)?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl S3Access for S3Gate {
    /// Before the input is read: anonymous requests, and operations the table does not know (the
    /// administrator's bucket housekeeping passes; a role's is refused).
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let Some(credentials) = cx.credentials() else {
            return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "Anonymous users cannot access this bucket"));
        };
        let caller = self
            .authorizer
            .identities()
            .by_access_key(&credentials.access_key)
            .ok_or_else(|| S3Error::new(S3ErrorCode::InvalidAccessKeyId))?;
        let operation = cx.s3_op().name();
        if local_iam::operations::operation("s3", operation).is_none() && caller.name != "administrator" {
            let e = local_iam::OperationError::Unknown { service: "s3".into(), operation: operation.into() };
            return Err(denied(Denied::Unmodelled(e)));
        }
        Ok(())
    }

    async fn get_object(&self, req: &mut S3Request<GetObjectInput>) -> S3Result<()> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        self.read(req, "GetObject", &bucket, &key)
    }

    async fn head_object(&self, req: &mut S3Request<HeadObjectInput>) -> S3Result<()> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        self.read(req, "HeadObject", &bucket, &key)
    }

    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        self.decide(req, "PutObject", &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())])
    }

    async fn delete_object(&self, req: &mut S3Request<DeleteObjectInput>) -> S3Result<()> {
        self.decide(req, "DeleteObject", &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())])
    }

    async fn copy_object(&self, req: &mut S3Request<CopyObjectInput>) -> S3Result<()> {
        let CopySource::Bucket { bucket: source_bucket, key: source_key, .. } = &req.input.copy_source else {
            return Err(S3Error::with_message(S3ErrorCode::AccessDenied, "access points are not modelled locally"));
        };
        let parameters = [
            ("bucket", req.input.bucket.as_str()),
            ("key", req.input.key.as_str()),
            ("source_bucket", &**source_bucket),
            ("source_key", &**source_key),
        ];
        self.decide(req, "CopyObject", &parameters)
    }

    async fn list_objects_v2(&self, req: &mut S3Request<ListObjectsV2Input>) -> S3Result<()> {
        let mut parameters = vec![("bucket", req.input.bucket.as_str())];
        if let Some(prefix) = &req.input.prefix {
            parameters.push(("prefix", prefix.as_str()));
        }
        self.decide(req, "ListObjectsV2", &parameters)
    }

    async fn list_objects(&self, req: &mut S3Request<ListObjectsInput>) -> S3Result<()> {
        let mut parameters = vec![("bucket", req.input.bucket.as_str())];
        if let Some(prefix) = &req.input.prefix {
            parameters.push(("prefix", prefix.as_str()));
        }
        self.decide(req, "ListObjects", &parameters)
    }

    async fn head_bucket(&self, req: &mut S3Request<HeadBucketInput>) -> S3Result<()> {
        self.decide(req, "HeadBucket", &[("bucket", req.input.bucket.as_str())])
    }

    async fn create_multipart_upload(&self, req: &mut S3Request<CreateMultipartUploadInput>) -> S3Result<()> {
        self.decide(
            req,
            "CreateMultipartUpload",
            &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())],
        )
    }

    async fn upload_part(&self, req: &mut S3Request<UploadPartInput>) -> S3Result<()> {
        self.decide(req, "UploadPart", &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())])
    }

    async fn complete_multipart_upload(&self, req: &mut S3Request<CompleteMultipartUploadInput>) -> S3Result<()> {
        self.decide(
            req,
            "CompleteMultipartUpload",
            &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())],
        )
    }

    async fn list_multipart_uploads(&self, req: &mut S3Request<ListMultipartUploadsInput>) -> S3Result<()> {
        self.decide(req, "ListMultipartUploads", &[("bucket", req.input.bucket.as_str())])
    }

    async fn list_parts(&self, req: &mut S3Request<ListPartsInput>) -> S3Result<()> {
        self.decide(req, "ListParts", &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())])
    }

    async fn abort_multipart_upload(&self, req: &mut S3Request<AbortMultipartUploadInput>) -> S3Result<()> {
        self.decide(
            req,
            "AbortMultipartUpload",
            &[("bucket", req.input.bucket.as_str()), ("key", req.input.key.as_str())],
        )
    }
}
