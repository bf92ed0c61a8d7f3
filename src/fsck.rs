//! `wharf fsck`: checks the store against blob storage and prints what it finds, one line
//! each, then a summary. Exit status: 0 consistent, 1 inconsistent, 2 the check failed.

use crate::app::App;
use crate::config::{FsckArgs, Settings};
use crate::domain::fsck::FsckOptions;

/// Runs the check; `Ok(true)` when store and storage are consistent.
pub async fn run(settings: Settings, args: FsckArgs) -> anyhow::Result<bool> {
    let store = crate::server::open_store(&settings).await?;
    let app = App::new(store.clone(), settings).await?;
    let options = FsckOptions {
        verify_digests: args.verify_digests,
        repair: args.repair,
        grace_secs: args.grace,
    };
    let outcome = app.fsck(&options, |finding| println!("{finding}")).await;
    store.close().await;
    let report = outcome.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "fsck: {} blobs checked{}, {} objects listed, {} problems",
        report.blobs_checked,
        if options.verify_digests {
            " (with digests)"
        } else {
            ""
        },
        report.objects_listed,
        report.problems()
    );
    Ok(report.problems() == 0)
}
