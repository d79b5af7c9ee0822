//! `openclaw secrets`.
use crate::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// List plaintext secrets in the config.
    Audit,
}

pub fn run(ctx: &mut Ctx<'_>, _command: SecretsCommand) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}
