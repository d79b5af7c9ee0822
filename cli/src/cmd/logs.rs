//! `openclaw logs`.
use crate::Ctx;

/// Flags of `openclaw logs`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {}

pub fn run(ctx: &mut Ctx<'_>, _args: LogsArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}
