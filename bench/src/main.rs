//! `openclaw-bench`: gateway benchmarks (being written).

fn main() {
    eprintln!("openclaw-bench: not written yet");
    std::process::exit(2);
}
