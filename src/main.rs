use clap::Parser;
use tracing_subscriber::EnvFilter;

use wharf::config::{Cli, Command, LogFormat, Settings};

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("WHARF_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Serve(serve) => match Settings::resolve(&cli.store, Some(&serve)) {
            Ok(settings) => {
                init_logging(settings.log_format);
                wharf::server::serve(settings).await
            }
            Err(e) => Err(e),
        },
        Command::Fsck(args) => match Settings::resolve(&cli.store, None) {
            Ok(settings) => {
                init_logging(LogFormat::Text);
                match wharf::fsck::run(settings, args).await {
                    Ok(true) => return std::process::ExitCode::SUCCESS,
                    Ok(false) => return std::process::ExitCode::from(1),
                    Err(e) => {
                        eprintln!("wharf: {e}");
                        return std::process::ExitCode::from(2);
                    }
                }
            }
            Err(e) => Err(e),
        },
        Command::Gc(args) => match Settings::resolve(&cli.store, None) {
            Ok(settings) => {
                init_logging(LogFormat::Text);
                wharf::gc::run(settings, args).await
            }
            Err(e) => Err(e),
        },
        Command::Admin(admin) => match Settings::resolve(&cli.store, None) {
            Ok(settings) => {
                init_logging(LogFormat::Text);
                wharf::admin::run(settings, admin.command).await
            }
            Err(e) => Err(e),
        },
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wharf: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
