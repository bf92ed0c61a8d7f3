//! What a pushed manifest holds, per platform, as the Hub tag API shows it: architecture,
//! OS and variant from the image configuration, the layers with their sizes and the
//! Dockerfile instructions from the configuration's history, and the compressed size.
//!
//! Computed once, when the manifest is pushed, and stored with it (`manifests.images`), so
//! that listing tags never reads blob storage.

use futures_util::TryStreamExt;
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::Result;
use crate::app::App;
use crate::blobs::Digest;

/// Image configurations larger than this are not read for platform details (real ones are
/// a few KiB; the limit keeps a hostile config from costing memory).
const MAX_CONFIG_SIZE: i64 = 4 * 1024 * 1024;

const IMAGE_CONFIG_TYPES: [&str; 2] = [
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// One platform's image of a manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PlatformImage {
    /// The digest of the platform's image manifest.
    pub digest: String,
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    pub features: Option<String>,
    pub os_features: Option<String>,
    pub os_version: Option<String>,
    /// Compressed size: the sum of the layers.
    pub size: i64,
    pub layers: Vec<Layer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Layer {
    /// `None` for history entries that made no layer (`ENV`, `CMD`, …).
    pub digest: Option<String>,
    pub size: i64,
    pub instruction: String,
}

/// The stored images of a manifest; an unreadable value (never written by Wharf) is none.
pub fn stored_images(json: &str) -> Vec<PlatformImage> {
    serde_json::from_str(json).unwrap_or_default()
}

/// The part of an image configuration the images need.
#[derive(Debug, Default, Deserialize)]
struct ImageConfig {
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default, rename = "os.version")]
    os_version: Option<String>,
    #[serde(default, rename = "os.features")]
    os_features: Option<Vec<String>>,
    #[serde(default)]
    features: Option<Vec<String>>,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Debug, Deserialize)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

fn joined(list: Option<Vec<String>>) -> Option<String> {
    list.filter(|l| !l.is_empty()).map(|l| l.join(","))
}

/// A history entry's `created_by` as Docker Hub shows it: the instruction, without the
/// shell wrapper the classic builder put around it.
fn instruction(created_by: Option<String>) -> String {
    let text = created_by.unwrap_or_default();
    if let Some(rest) = text.strip_prefix("/bin/sh -c #(nop) ") {
        rest.trim().to_string()
    } else if let Some(rest) = text.strip_prefix("/bin/sh -c ") {
        format!("RUN {}", rest.trim())
    } else {
        text.trim().to_string()
    }
}

/// The layers with their instructions: history entries are walked in order, each that made
/// a layer taking the next one. Without a usable history, layers have no instruction.
fn layers_with_history(layers: &[Descriptor], history: Vec<History>) -> Vec<Layer> {
    let made = history.iter().filter(|h| !h.empty_layer).count();
    let plain = |d: &Descriptor| Layer {
        digest: Some(d.digest().to_string()),
        size: d.size() as i64,
        instruction: String::new(),
    };
    if history.is_empty() || made != layers.len() {
        return layers.iter().map(plain).collect();
    }
    let mut next = layers.iter();
    history
        .into_iter()
        .map(|h| {
            let layer = if h.empty_layer { None } else { next.next() };
            Layer {
                digest: layer.map(|d| d.digest().to_string()),
                size: layer.map_or(0, |d| d.size() as i64),
                instruction: instruction(h.created_by),
            }
        })
        .collect()
}

/// Whether an index entry is an attestation (BuildKit's provenance and SBOM manifests),
/// which Docker Hub does not list as an image.
fn is_attestation(descriptor: &Descriptor) -> bool {
    descriptor
        .annotations()
        .as_ref()
        .and_then(|a| a.get("vnd.docker.reference.type"))
        .is_some_and(|kind| kind == "attestation-manifest")
}

impl App {
    /// The images of an image manifest with digest `digest`.
    pub(super) async fn image_of_manifest(&self, digest: &str, manifest: &ImageManifest) -> PlatformImage {
        let config_descriptor = manifest.config();
        let config = if IMAGE_CONFIG_TYPES.contains(&config_descriptor.media_type().to_string().as_str()) {
            self.read_config(config_descriptor).await.unwrap_or_default()
        } else {
            ImageConfig::default()
        };
        let layers = manifest.layers();
        PlatformImage {
            digest: digest.to_string(),
            architecture: config.architecture.unwrap_or_else(|| "unknown".into()),
            os: config.os.unwrap_or_else(|| "unknown".into()),
            variant: config.variant.filter(|v| !v.is_empty()),
            features: joined(config.features),
            os_features: joined(config.os_features),
            os_version: config.os_version.filter(|v| !v.is_empty()),
            size: layers.iter().map(|l| l.size() as i64).sum(),
            layers: layers_with_history(layers, config.history),
        }
    }

    /// The images of an index: one per platform manifest, read from the child manifests
    /// (which a push requires to be in the repository already), with the platform the
    /// index declares taking precedence.
    pub(super) async fn images_of_index(
        &self,
        repository_id: &str,
        index: &ImageIndex,
    ) -> Result<Vec<PlatformImage>> {
        let mut images = Vec::new();
        for child in index.manifests() {
            if is_attestation(child) {
                continue;
            }
            let digest = child.digest().to_string();
            let Some(stored) = self.store.manifest(repository_id, &digest).await? else {
                continue;
            };
            // A nested index contributes its own images.
            for mut image in stored_images(&stored.images) {
                if let Some(platform) = child.platform() {
                    image.architecture = platform.architecture().to_string();
                    image.os = platform.os().to_string();
                    if let Some(variant) = platform.variant() {
                        image.variant = Some(variant.clone());
                    }
                    if let Some(version) = platform.os_version() {
                        image.os_version = Some(version.clone());
                    }
                }
                images.push(image);
            }
        }
        Ok(images)
    }

    /// Reads and parses an image configuration blob; `None` when it is too large, missing
    /// or not a configuration.
    async fn read_config(&self, descriptor: &Descriptor) -> Option<ImageConfig> {
        if descriptor.size() as i64 > MAX_CONFIG_SIZE {
            return None;
        }
        let digest = Digest::parse(descriptor.digest().as_ref())?;
        let stream = self.blobs.read(&digest, None).await.ok()?;
        let content = stream
            .try_fold(Vec::new(), |mut content, chunk| async move {
                content.extend_from_slice(&chunk);
                Ok(content)
            })
            .await
            .ok()?;
        serde_json::from_slice::<Value>(&content)
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_lose_the_shell_wrapper() {
        assert_eq!(
            instruction(Some("/bin/sh -c #(nop)  CMD [\"sh\"]".into())),
            "CMD [\"sh\"]"
        );
        assert_eq!(
            instruction(Some("/bin/sh -c apk add curl".into())),
            "RUN apk add curl"
        );
        assert_eq!(
            instruction(Some("COPY . /app # buildkit".into())),
            "COPY . /app # buildkit"
        );
        assert_eq!(instruction(None), "");
    }
}
