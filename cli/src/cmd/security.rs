//! `openclaw security`.
use crate::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum SecurityCommand {
    /// Report exposure, weak auth and dangerous settings.
    Audit,
}

pub fn run(ctx: &mut Ctx<'_>, _command: SecurityCommand) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}
