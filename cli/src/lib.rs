//! The `openclaw` command line. [`run`] takes parsed arguments and explicit output streams and
//! environment, so tests drive it as a library as well as through the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runtime::config::Env;
use runtime::config::paths::Profile;

mod cmd;
pub mod report;

/// Exit code for a usage error (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "openclaw",
    version = concat!(env!("CARGO_PKG_VERSION"), " (openclaw-rs; compatible with OpenClaw 2026.9.6)"),
    about = "OpenClaw gateway toolkit (Rust): config validation and gateway operations"
)]
pub struct Cli {
    /// Dev profile: state under ~/.openclaw-dev, default gateway port 19001.
    #[arg(long, global = true)]
    pub dev: bool,
    /// Named profile: state under ~/.openclaw-<name> (not combinable with --dev).
    #[arg(long, value_name = "NAME", global = true)]
    pub profile: Option<String>,
    /// Disable ANSI colours.
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect and check the config file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config against the schema without starting the gateway.
    Validate {
        /// Print the result as JSON (same as --format json).
        #[arg(long)]
        json: bool,
        /// Output format: text (default), json, or github (GitHub Actions annotations).
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Validate this file instead of the resolved config path.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print the active config file path.
    File,
    /// Print the value at a dotted path (e.g. gateway.port, agents.list[0].id).
    Get {
        path: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also say where the value came from: a flag, an env var, file:line, or the default.
        #[arg(long)]
        show_origin: bool,
    },
    /// Print the JSON Schema of the config (usable as `$schema` in editors).
    Schema,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Github,
}

/// Output streams and settings shared by the commands.
pub struct Ctx<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    pub env: &'a dyn Env,
    pub color: bool,
    pub profile: Profile,
    pub cwd: PathBuf,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("color", &self.color)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write, env: &dyn Env) -> ExitCode {
    use std::io::IsTerminal;
    let color = !cli.no_color
        && env.var("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut ctx = Ctx {
        out,
        err,
        env,
        color,
        profile: Profile {
            dev: cli.dev,
            name: cli.profile,
        },
        cwd,
    };
    let code = match cli.command {
        Command::Config { command } => cmd::config::run(&mut ctx, command),
    };
    let _ = ctx.out.flush();
    let _ = ctx.err.flush();
    ExitCode::from(code)
}
