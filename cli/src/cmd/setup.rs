//! `openclaw setup`.
use crate::Ctx;

/// Flags of `openclaw setup`.
#[derive(Debug, Clone, clap::Args)]
pub struct SetupArgs {}

pub fn run(ctx: &mut Ctx<'_>, _args: SetupArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}
