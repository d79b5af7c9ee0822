//! Checks shared by doctor, security audit and secrets audit (in progress).
