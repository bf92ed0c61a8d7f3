//! The domain's one error type. The HTTP layer renders it in the format of the API surface
//! that was called (Hub JSON, login `{"detail"}`, and later OCI and SCIM); nothing below the
//! HTTP layer knows about status codes or bodies.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed or invalid input. The message names what was wrong.
    #[error("{0}")]
    BadRequest(String),
    /// One field or parameter is invalid: the Hub API answers with a field error
    /// (`{"fields": {field: [message]}, "text": …}`).
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// No valid credential, or a credential that does not (or no longer) authenticate.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but the policy says no.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The route exists, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request body is larger than the endpoint accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Too many requests or failed attempts; retry after this many seconds.
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64 },
    /// The password was right but the account has 2FA: the login must continue at
    /// `/v2/users/2fa-login` with this single-use token.
    #[error("Require secondary authentication on MFA enabled account")]
    SecondFactorRequired { login_2fa_token: String },
    /// A registry failure with the error code the OCI Distribution spec names for it.
    #[error("{message}")]
    Registry { code: RegistryCode, message: String },
    /// A SCIM request refused with one of the error types of RFC 7644 §3.12.
    #[error("{message}")]
    Scim { kind: ScimErrorKind, message: String },
    /// The database or blob storage does not answer, or a blob is briefly busy: a 503 the
    /// caller may retry.
    #[error("{0}")]
    Unavailable(String),
    /// A failure that is not the caller's fault. Logged; the caller sees a generic message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The error codes of the OCI Distribution spec (plus Docker's `TOOMANYREQUESTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    RangeInvalid,
}

impl RegistryCode {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistryCode::BlobUnknown => "BLOB_UNKNOWN",
            RegistryCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            RegistryCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            RegistryCode::DigestInvalid => "DIGEST_INVALID",
            RegistryCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            RegistryCode::ManifestInvalid => "MANIFEST_INVALID",
            RegistryCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            RegistryCode::NameInvalid => "NAME_INVALID",
            RegistryCode::NameUnknown => "NAME_UNKNOWN",
            RegistryCode::SizeInvalid => "SIZE_INVALID",
            RegistryCode::Unauthorized => "UNAUTHORIZED",
            RegistryCode::Denied => "DENIED",
            RegistryCode::Unsupported => "UNSUPPORTED",
            RegistryCode::RangeInvalid => "BLOB_UPLOAD_INVALID",
        }
    }
}

/// The `scimType` of a SCIM error (RFC 7644 §3.12, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimErrorKind {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
}

impl ScimErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimErrorKind::InvalidFilter => "invalidFilter",
            ScimErrorKind::TooMany => "tooMany",
            ScimErrorKind::Uniqueness => "uniqueness",
            ScimErrorKind::Mutability => "mutability",
            ScimErrorKind::InvalidSyntax => "invalidSyntax",
            ScimErrorKind::InvalidPath => "invalidPath",
            ScimErrorKind::NoTarget => "noTarget",
            ScimErrorKind::InvalidValue => "invalidValue",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Error::BadRequest(msg.into())
    }
    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Error::Unauthorized(msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Error::Forbidden(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Error::NotFound(msg.into())
    }
    pub fn registry(code: RegistryCode, msg: impl Into<String>) -> Self {
        Error::Registry {
            code,
            message: msg.into(),
        }
    }
    pub fn invalid_field(field: &str, msg: impl Into<String>) -> Self {
        Error::InvalidField {
            field: field.to_string(),
            message: msg.into(),
        }
    }

    pub fn scim(kind: ScimErrorKind, msg: impl Into<String>) -> Self {
        Error::Scim {
            kind,
            message: msg.into(),
        }
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(msg.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => Error::Conflict(what),
            StoreError::NotFound => Error::NotFound("not found".into()),
            StoreError::Unsupported(what) => Error::BadRequest(what),
            err if err.is_unavailable() => {
                Error::Unavailable("the database cannot be reached; try again".into())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}
