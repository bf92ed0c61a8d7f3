//! `wharf gc`: one garbage collection from the shell, then a summary line. Flags override
//! the `gc_grace` and `gc_untagged` of the configuration file.

use crate::app::App;
use crate::config::{GcArgs, Settings};
use crate::domain::gc::GcOptions;

pub async fn run(settings: Settings, args: GcArgs) -> anyhow::Result<()> {
    let store = crate::server::open_store(&settings).await?;
    let options = GcOptions {
        grace_secs: args.grace.unwrap_or(settings.gc_grace_secs),
        untagged: args.untagged.unwrap_or(settings.gc_untagged),
        dry_run: args.dry_run,
    };
    let app = App::new(store.clone(), settings).await?;
    let outcome = app.gc(&options).await;
    store.close().await;
    let report = outcome.map_err(|e| anyhow::anyhow!("{e}"))?;
    if !report.ran {
        println!("gc: another collector is running; nothing done");
        return Ok(());
    }
    println!(
        "gc: {} {} untagged manifests, {} blobs ({} bytes){}",
        if args.dry_run { "would delete" } else { "deleted" },
        report.manifests_deleted,
        report.blobs_deleted,
        report.bytes_deleted,
        if report.blobs_resumed > 0 {
            format!("; finished {} blobs of an interrupted run", report.blobs_resumed)
        } else {
            String::new()
        }
    );
    Ok(())
}
