//! `openclaw doctor`.
use crate::Ctx;

/// Flags of `openclaw doctor`.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {}

pub fn run(ctx: &mut Ctx<'_>, _args: DoctorArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}
