//! The `openclaw` command line. [`run`] takes parsed arguments and explicit output streams and
//! environment, so tests drive it as a library as well as through the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runtime::config::Env;
use runtime::config::paths::Profile;

mod client;
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
    /// Run the gateway in the foreground (WebSocket RPC and HTTP on one port), or talk to it.
    #[command(args_conflicts_with_subcommands = true)]
    Gateway {
        #[command(subcommand)]
        command: Option<GatewayCommand>,
        #[command(flatten)]
        run: GatewayRunArgs,
    },
    /// Ask the running gateway for its health.
    Health(HealthArgs),
    /// Summary of the running gateway (reachability, version, uptime, connections).
    Status(StatusArgs),
    /// Show the gateway's log: over RPC from the running gateway, or from the log file.
    Logs(cmd::logs::LogsArgs),
    /// Check the config, state directory, port, auth and service for problems; --fix repairs them.
    Doctor(cmd::doctor::DoctorArgs),
    /// Create the state directory, a config with a generated token, and the workspace.
    Setup(cmd::setup::SetupArgs),
    /// Inspect secrets in the config.
    Secrets {
        #[command(subcommand)]
        command: cmd::secrets::SecretsCommand,
    },
    /// Audit the gateway's security posture.
    Security {
        #[command(subcommand)]
        command: cmd::security::SecurityCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Run the gateway in the foreground (the same as `openclaw gateway`).
    Run(GatewayRunArgs),
    /// Call one RPC method on the running gateway and print its result.
    Call(CallArgs),
    /// Show where the gateway should be, whether it is listening, and probe it over RPC.
    Status(GatewayStatusArgs),
    /// Install the gateway as a user service (systemd user unit, or a LaunchAgent on macOS).
    Install(cmd::service::InstallArgs),
    /// Stop and remove the installed user service.
    Uninstall(cmd::service::ServiceArgs),
    /// Start the installed user service.
    Start(cmd::service::ServiceArgs),
    /// Stop the installed user service.
    Stop(cmd::service::ServiceArgs),
    /// Restart the installed user service.
    Restart(cmd::service::ServiceArgs),
}

/// Flags of `openclaw gateway [run]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GatewayRunArgs {
    /// Port for WebSocket and HTTP (default: OPENCLAW_GATEWAY_PORT, gateway.port, 18789; --dev 19001).
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,
    /// Interfaces to listen on: loopback, lan, tailnet, auto or custom.
    #[arg(long, value_name = "MODE")]
    pub bind: Option<String>,
    /// Auth mode: none, token, password or trusted-proxy.
    #[arg(long, value_name = "MODE")]
    pub auth: Option<String>,
    /// Shared token clients must present (overrides the config and OPENCLAW_GATEWAY_TOKEN).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Shared password clients must present (overrides the config and OPENCLAW_GATEWAY_PASSWORD).
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Start without a config file, or with one that lacks gateway.mode=local (dev and ad-hoc runs).
    #[arg(long)]
    pub allow_unconfigured: bool,
    /// Stop whatever process is listening on the port first (SIGTERM, then wait for the port).
    #[arg(long)]
    pub force: bool,
    /// Log at debug level to stderr.
    #[arg(long)]
    pub verbose: bool,
}

/// How a client command reaches the gateway.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ClientArgs {
    /// Gateway WebSocket URL (default: ws://127.0.0.1:<resolved port>).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Gateway token (default: the config's gateway.auth.token, OPENCLAW_GATEWAY_TOKEN, or the
    /// running dev gateway's runtime token).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Gateway password (default: gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD).
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
    /// Give up after this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub timeout: u64,
}

/// Flags of `openclaw gateway call`.
#[derive(Debug, Clone, clap::Args)]
pub struct CallArgs {
    /// The method, e.g. health, status, config.get.
    pub method: String,
    /// Params as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub params: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `openclaw health`.
#[derive(Debug, Clone, clap::Args)]
pub struct HealthArgs {
    /// Print the health payload as JSON.
    #[arg(long)]
    pub json: bool,
    /// Ask for a fresh probe instead of the cached snapshot.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `openclaw gateway status`.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayStatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Skip the RPC probe (only report config, port and listener).
    #[arg(long)]
    pub no_probe: bool,
    /// Also scan system-level service directories for other gateways.
    #[arg(long)]
    pub deep: bool,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Flags of `openclaw status`.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub client: ClientArgs,
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
    /// Set the value at a dotted path, keeping the file's comments and layout.
    Set(ConfigSetArgs),
    /// Remove the value at a dotted path, keeping the file's comments and layout.
    Unset(ConfigUnsetArgs),
    /// Apply a JSON5 merge patch (RFC 7396: objects merge, null deletes, the rest replaces).
    Patch(ConfigPatchArgs),
}

/// Flags shared by `config set | unset | patch`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigEditFlags {
    /// Show the change and what a running gateway would do, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `openclaw config set`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigSetArgs {
    /// Dotted path, e.g. gateway.port or agents.list[0].model.
    pub path: String,
    /// The value as JSON5 (19001, true, "text", {mode: "hot"}); text that is not JSON5 is stored
    /// as a string.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    /// The value must be strict JSON; never fall back to a string.
    #[arg(long)]
    pub strict_json: bool,
    #[command(flatten)]
    pub flags: ConfigEditFlags,
}

/// Arguments of `openclaw config unset`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigUnsetArgs {
    /// Dotted path, e.g. gateway.port or agents.list[0].
    pub path: String,
    #[command(flatten)]
    pub flags: ConfigEditFlags,
}

/// Arguments of `openclaw config patch`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigPatchArgs {
    /// The merge patch, a JSON5 object; `-` reads it from standard input.
    #[arg(long, value_name = "FILE")]
    pub file: String,
    /// Replace the value at this path with the patch's value instead of merging (repeatable).
    #[arg(long = "replace-path", value_name = "PATH")]
    pub replace_paths: Vec<String>,
    #[command(flatten)]
    pub flags: ConfigEditFlags,
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
    let profile = Profile {
        dev: cli.dev,
        name: cli.profile,
    };
    // Variables from ./.env and the state dir's .env sit under the process environment for every
    // command. `gateway run` layers them itself (with the config's env block), so it gets the
    // process environment as is.
    let runs_gateway = matches!(
        cli.command,
        Command::Gateway {
            command: None | Some(GatewayCommand::Run(_)),
            ..
        }
    );
    let layered = runtime::config::dotenv::LayeredEnv::standard(env, &profile, &cwd);
    let env: &dyn Env = if runs_gateway {
        env
    } else {
        for w in layered.warnings() {
            let _ = writeln!(err, "[openclaw] {w}");
        }
        &layered
    };
    let mut ctx = Ctx {
        out,
        err,
        env,
        color,
        profile,
        cwd,
    };
    let code = match cli.command {
        Command::Config { command } => cmd::config::run(&mut ctx, command),
        Command::Gateway { command, run } => match command {
            None => cmd::gateway::run(&mut ctx, run),
            Some(GatewayCommand::Run(args)) => cmd::gateway::run(&mut ctx, args),
            Some(GatewayCommand::Call(args)) => cmd::rpc::call(&mut ctx, args),
            Some(GatewayCommand::Status(args)) => cmd::rpc::gateway_status(&mut ctx, args),
            Some(GatewayCommand::Install(args)) => cmd::service::install(&mut ctx, args),
            Some(GatewayCommand::Uninstall(args)) => cmd::service::uninstall(&mut ctx, args),
            Some(GatewayCommand::Start(args)) => cmd::service::start(&mut ctx, args),
            Some(GatewayCommand::Stop(args)) => cmd::service::stop(&mut ctx, args),
            Some(GatewayCommand::Restart(args)) => cmd::service::restart(&mut ctx, args),
        },
        Command::Health(args) => cmd::rpc::health(&mut ctx, args),
        Command::Status(args) => cmd::rpc::status(&mut ctx, args),
        Command::Logs(args) => cmd::logs::run(&mut ctx, args),
        Command::Doctor(args) => cmd::doctor::run(&mut ctx, args),
        Command::Setup(args) => cmd::setup::run(&mut ctx, args),
        Command::Secrets { command } => cmd::secrets::run(&mut ctx, command),
        Command::Security { command } => cmd::security::run(&mut ctx, command),
    };
    let _ = ctx.out.flush();
    let _ = ctx.err.flush();
    ExitCode::from(code)
}
