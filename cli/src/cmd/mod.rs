pub mod config;
pub mod gateway;
pub mod rpc;
