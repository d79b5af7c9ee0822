//! Compiles `spec/` into Rust (see the `openclaw-codegen` crate). A mistake in the spec stops the
//! build with a diagnostic that points into the spec file.
fn main() {
    println!("cargo::rerun-if-changed=../spec");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(e) = codegen::generate(std::path::Path::new("../spec"), &out) {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
                .with_width(110);
        let mut text = String::new();
        let _ = handler.render_report(&mut text, &e);
        eprintln!("{text}");
        std::process::exit(1);
    }
}
