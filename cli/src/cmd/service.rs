//! `openclaw gateway install | uninstall | start | stop | restart`.
use crate::Ctx;

/// Flags of `openclaw gateway install`.
#[derive(Debug, Clone, clap::Args)]
pub struct InstallArgs {}

/// Flags of the other service verbs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceArgs {}

pub fn install(ctx: &mut Ctx<'_>, _args: InstallArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}

pub fn uninstall(ctx: &mut Ctx<'_>, _args: ServiceArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}

pub fn start(ctx: &mut Ctx<'_>, _args: ServiceArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}

pub fn stop(ctx: &mut Ctx<'_>, _args: ServiceArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}

pub fn restart(ctx: &mut Ctx<'_>, _args: ServiceArgs) -> u8 {
    let _ = writeln!(ctx.err, "not built yet");
    1
}

/// Differences between the installed service unit (if any) and the one `gateway install` would write
/// now, one human-readable line each; empty when none is installed or it matches. Used by `doctor`.
#[allow(dead_code)] // doctor uses it once its drift check lands
pub fn unit_drift(_ctx: &Ctx<'_>) -> Vec<String> {
    Vec::new()
}
