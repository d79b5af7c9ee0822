//! The `openclaw` binary: parse arguments, run, exit with the command's code.
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = openclaw_cli::Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    openclaw_cli::run(
        cli,
        &mut stdout.lock(),
        &mut stderr.lock(),
        &runtime::config::ProcessEnv,
    )
}
