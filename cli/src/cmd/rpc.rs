//! Client commands: `gateway call`, `gateway status`, `health`, `status` (being written).

use crate::{CallArgs, Ctx, GatewayStatusArgs, HealthArgs, StatusArgs};

fn unavailable(ctx: &mut Ctx<'_>, what: &str) -> u8 {
    let _ = writeln!(ctx.err, "openclaw {what}: not available in this build yet");
    1
}

pub fn call(ctx: &mut Ctx<'_>, _args: CallArgs) -> u8 {
    unavailable(ctx, "gateway call")
}

pub fn gateway_status(ctx: &mut Ctx<'_>, _args: GatewayStatusArgs) -> u8 {
    unavailable(ctx, "gateway status")
}

pub fn health(ctx: &mut Ctx<'_>, _args: HealthArgs) -> u8 {
    unavailable(ctx, "health")
}

pub fn status(ctx: &mut Ctx<'_>, _args: StatusArgs) -> u8 {
    unavailable(ctx, "status")
}
