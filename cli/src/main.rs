//! The `openclaw` binary: parse arguments, run, exit with the command's code.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = openclaw_cli::Cli::parse();
    // Unlocked handles: each write takes the lock briefly, so the gateway's log layer (which also
    // writes to stdout, from worker threads) never waits on a lock held for the whole run.
    openclaw_cli::run(
        cli,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
        &runtime::config::ProcessEnv,
    )
}
